"""Users and their scopes, shared by the CLI and the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, text

from server.auth import hash_password, load_scope
from server.errors import ApiError
from server.extensions import db
from server.models import ROLES, User, UserArea, UserGrid
from server.passwords import password_problem


def user_public(user: User) -> dict[str, Any]:
    grids, areas = load_scope(user.id)
    return {"username": user.username, "role": user.role, "dept": user.dept,
            "grids": grids, "areas": areas}


def create_user(username: str, role: str, password: str, grids: list[str] = (),  # type: ignore[assignment]
                areas: list[str] = (), dept: str | None = None) -> User:  # type: ignore[assignment]
    if role not in ROLES:
        raise ApiError(422, "validation", f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 64:
        raise ApiError(422, "validation", "username must be 1 to 64 characters")
    if not username.strip() or any(ord(c) < 32 or ord(c) == 127 for c in username):
        # The sign-in refuses such names (422) before looking them up: nobody could use it.
        raise ApiError(422, "validation", "username must not be blank or hold control characters")
    check_password(password)
    if role == "department" and not dept:
        raise ApiError(422, "validation", "a department user needs --dept")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ApiError(409, "conflict", f"user {username!r} already exists")
    user = User(username=username, role=role, dept=dept, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    _replace(user, UserGrid, "grid_code", grids)
    _replace(user, UserArea, "area_code", areas)
    return user


def check_password(password: str) -> None:
    """422 ``weak_password`` unless ``password`` passes the one password rule."""
    problem = password_problem(password)
    if problem is not None:
        raise ApiError(422, "weak_password", problem)


def unknown_grids(codes: list[str]) -> list[str]:
    known = set(db.session.scalars(text("SELECT DISTINCT code FROM grid WHERE code = ANY(:c)"),
                                   {"c": list(codes)}))
    return [c for c in codes if c not in known]


def set_scope(username: str, kind: str, codes: list[str]) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ApiError(404, "not_found", f"no user {username!r}")
    model, column = (UserGrid, "grid_code") if kind == "grids" else (UserArea, "area_code")
    _replace(user, model, column, codes)
    user.scope_epoch += 1
    return user


def _replace(user: User, model: Any, column: str, codes: list[str]) -> None:
    db.session.execute(delete(model).where(model.user_id == user.id))
    for code in dict.fromkeys(codes):
        db.session.add(model(user_id=user.id, **{column: code}))
    db.session.flush()
