"""Trust at the edges (PROTOCOL v1.1 "Sign-in, devices and passwords"): throttling shared
by every node, devices bound to their first user, one password rule, one-time passwords,
junk in sign-in bodies, and the audit entries for all of it. Real database throughout."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.conftest import PASSWORD, ApiClient, unique

TOKEN = "/api/v1/auth/token"
GRID = "320105001001004"
NEW_PASSWORD = "新的-password-2026"


def new_ip() -> str:
    """A client address of this test's own, so that address counters never meet."""
    return "10." + ".".join(str(secrets.randbelow(254) + 1) for _ in range(3))


def sign_in(client: Any, username: str, password: str = PASSWORD, device: str | None = None,
            ip: str = "127.0.0.1"):
    return client.post(TOKEN, json={"username": username, "password": password,
                                    "device_id": device or unique("dev-")},
                       environ_base={"REMOTE_ADDR": ip})


def fail(client: Any, username: str, times: int, ip: str) -> None:
    for _ in range(times):
        r = sign_in(client, username, "wrong-password-1", ip=ip)
        assert r.status_code == 401 and r.json["error"]["code"] == "invalid_credentials"


def audit_results(db, action: str, username: str) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT result FROM audit_log WHERE action = %s AND username = %s ORDER BY seq",
        (action, username))]


def test_ten_failures_lock_the_username_even_for_the_right_password(client, make_user, db):
    name, ip = make_user(), new_ip()
    fail(client, name, 10, ip)
    for where in (ip, new_ip()):  # the username is locked from any address
        r = sign_in(client, name, ip=where)
        assert r.status_code == 429, r.json
        assert r.json["error"]["code"] == "too_many_attempts"
        assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    # Refused attempts are not counted: the lock ends when the 10 failures age out.
    count = db.execute("SELECT count(*) FROM signin_failure WHERE username = %s",
                       (name,)).fetchone()[0]
    assert count == 10
    assert audit_results(db, "auth.signin", name) == (
        ["invalid_credentials"] * 10 + ["too_many_attempts"] * 2)
    # Retry-After is the time until the oldest counted failure leaves the window.
    db.execute("UPDATE signin_failure SET at = at - interval '10 minutes' WHERE username = %s",
               (name,))
    r = sign_in(client, name, ip=ip)
    assert r.status_code == 429 and 200 < int(r.headers["Retry-After"]) <= 300
    db.execute("UPDATE signin_failure SET at = at - interval '6 minutes' WHERE username = %s",
               (name,))
    r = sign_in(client, name, ip=ip)
    assert r.status_code == 200, r.json
    assert audit_results(db, "auth.signin", name)[-1] == "ok"


def test_a_refused_attempt_does_no_hashing(client, make_user, monkeypatch):
    from argon2 import PasswordHasher

    calls = []
    real_verify = PasswordHasher.verify

    def counting_verify(self: PasswordHasher, *args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real_verify(self, *args, **kw)

    # The hasher has __slots__: its class's method is the one to wrap.
    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    name, ip = make_user(), new_ip()
    fail(client, name, 10, ip)
    assert len(calls) == 10
    assert sign_in(client, name, ip=ip).status_code == 429
    assert sign_in(client, name, "wrong-password-1", ip=ip).status_code == 429
    assert len(calls) == 10
    # An unknown user is throttled the same way, without the dummy hash either.
    ghost = unique("ghost")
    fail(client, ghost, 10, new_ip())
    assert len(calls) == 20
    assert sign_in(client, ghost, ip=new_ip()).status_code == 429
    assert len(calls) == 20


def test_a_success_clears_the_usernames_failures(client, make_user, db):
    name, ip = make_user(), new_ip()
    fail(client, name, 9, ip)
    counted = "SELECT count(*) FROM signin_failure WHERE username = %s"
    assert db.execute(counted, (name,)).fetchone()[0] == 9
    assert sign_in(client, name, ip=ip).status_code == 200
    assert db.execute(counted, (name,)).fetchone()[0] == 0
    # The address keeps its count: one good account must not reset an attacker's.
    assert db.execute("SELECT count(*) FROM signin_failure WHERE ip = %s",
                      (ip,)).fetchone()[0] == 9
    fail(client, name, 9, ip)
    assert sign_in(client, name, ip=ip).status_code == 200


def test_fifty_failures_from_one_address_lock_it_and_unlock_lifts_it(app, client, make_user,
                                                                     db):
    ip = new_ip()
    for _ in range(10):  # 5 per name: no username reaches its own limit
        fail(client, unique("nobody"), 5, ip)
    name = make_user()
    r = sign_in(client, name, ip=ip)
    assert r.status_code == 429 and r.json["error"]["code"] == "too_many_attempts"
    assert "address" in r.json["error"]["message"] and int(r.headers["Retry-After"]) > 0
    assert sign_in(client, name, ip=new_ip()).status_code == 200  # only that address
    result = app.test_cli_runner().invoke(args=["users", "unlock", "--ip", ip])
    assert result.exit_code == 0, result.output
    assert sign_in(client, name, ip=ip).status_code == 200
    entry = db.execute("SELECT detail FROM audit_log WHERE action = 'users.unlock' "
                       "AND detail->'ips' ? %s", (ip,)).fetchone()
    assert entry is not None and entry[0]["cleared"] == 50


def test_users_unlock_lifts_a_username_lock(app, client, make_user, db):
    name, ip = make_user(), new_ip()
    fail(client, name, 10, ip)
    assert sign_in(client, name, ip=ip).status_code == 429
    result = app.test_cli_runner().invoke(args=["users", "unlock", name])
    assert result.exit_code == 0 and "cleared=10" in result.output, result.output
    assert sign_in(client, name, ip=ip).status_code == 200
    assert audit_results(db, "users.unlock", name) == ["ok"]
    assert app.test_cli_runner().invoke(args=["users", "unlock"]).exit_code == 1


def test_failures_older_than_the_window_are_pruned(app, db):
    from server.extensions import db as sa
    from server.services import signin

    name = unique("old")
    db.execute("INSERT INTO signin_failure (at, username, ip) "
               "SELECT now() - interval '20 minutes', %s, '10.0.0.1' FROM generate_series(1, 3)",
               (name,))
    db.execute("INSERT INTO signin_failure (username, ip) VALUES (%s, '10.0.0.1')", (name,))
    with app.app_context():
        assert signin.prune() >= 3
        sa.session.commit()
    left = db.execute("SELECT count(*) FROM signin_failure WHERE username = %s",
                      (name,)).fetchone()[0]
    assert left == 1  # the one inside the window stays


def test_two_app_instances_share_the_counter(database_url, make_user, tmp_path):
    from server import create_app
    from server.extensions import db as sa

    apps = [create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                        "ATTACHMENT_DIR": str(tmp_path), "SECRET_KEY": "test"})
            for _ in range(2)]
    try:
        first, second = (a.test_client() for a in apps)
        name, ip = make_user(), new_ip()
        fail(first, name, 5, ip)
        fail(second, name, 5, new_ip())
        r = sign_in(first, name, ip=ip)
        assert r.status_code == 429, r.json
        assert sign_in(second, name, ip=new_ip()).status_code == 429
    finally:
        for a in apps:
            with a.app_context():
                sa.engine.dispose()


def test_another_user_cannot_take_a_device_over(client, make_user, inside_points, db):
    from tests.api.test_skeleton import report

    owner = ApiClient(client, make_user(grids=[GRID]))
    assert owner.push(owner.op("inspection", "create", report(inside_points[GRID])))[0][
        "status"] == "applied"
    before = db.execute("SELECT user_id, next_seq FROM device WHERE id = %s",
                        (owner.device_id,)).fetchone()
    intruder = make_user()
    r = sign_in(client, intruder, device=owner.device_id)
    assert r.status_code == 403 and r.json["error"]["code"] == "device_in_use"
    assert db.execute("SELECT user_id, next_seq FROM device WHERE id = %s",
                      (owner.device_id,)).fetchone() == before
    assert owner.get("/api/v1/me").status_code == 200  # the owner's token still works
    assert owner.push(owner.op("inspection", "create", report(inside_points[GRID])))[0][
        "status"] == "applied"
    assert audit_results(db, "auth.signin", intruder) == ["device_in_use"]
    # The owner signing in again on their own device is fine.
    assert sign_in(client, owner.user["username"], device=owner.device_id).status_code == 200


def test_devices_release_lets_another_user_in(app, client, make_user, inside_points, db):
    from tests.api.test_skeleton import report

    owner = ApiClient(client, make_user(grids=[GRID]))
    owner.push(owner.op("inspection", "create", report(inside_points[GRID])))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["devices", "release", owner.device_id])
    assert result.exit_code == 0, result.output
    assert owner.get("/api/v1/me").status_code == 401  # the owner's tokens are revoked
    heir = ApiClient(client, make_user(grids=[GRID]), device_id=owner.device_id)
    row = db.execute("SELECT u.username, d.next_seq FROM device d JOIN app_user u "
                     "ON u.id = d.user_id WHERE d.id = %s", (owner.device_id,)).fetchone()
    assert row == (heir.user["username"], 2)  # the installation's sequence goes on
    heir.seq = 1
    assert heir.push(heir.op("inspection", "create", report(inside_points[GRID])))[0][
        "status"] == "applied"
    # Now it is the heir's: the old owner is the one refused.
    r = sign_in(client, owner.user["username"], device=owner.device_id)
    assert r.status_code == 403 and r.json["error"]["code"] == "device_in_use"
    released = db.execute("SELECT count(*) FROM audit_log WHERE action = 'devices.release' "
                          "AND device_id = %s", (owner.device_id,)).fetchone()[0]
    assert released == 1
    bad = runner.invoke(args=["devices", "release", "no-such-device"])
    assert bad.exit_code == 1 and "no device" in bad.output


@pytest.mark.parametrize("password", [
    "short-1", "abcdefghijkl", "1234567890123", "woaini1314", "QQ123456789", "a123456789",
    "Password123", " " * 12, "1qaz2wsx3edc",
])
def test_weak_passwords_are_refused_by_the_cli(app, db, password):
    name = unique("weak")
    result = app.test_cli_runner().invoke(args=["users", "create", name, "--role", "patroller"],
                                          input=password + "\n")
    assert result.exit_code == 1 and "password" in result.output, result.output
    assert db.execute("SELECT count(*) FROM app_user WHERE username = %s",
                      (name,)).fetchone()[0] == 0


def test_the_demo_password_and_the_fixtures_pass_the_rule():
    from server.cli import DEMO_PASSWORD
    from server.passwords import password_problem

    assert password_problem(DEMO_PASSWORD) is None
    assert password_problem(PASSWORD) is None and password_problem(NEW_PASSWORD) is None


def test_one_time_password_must_be_changed_first(client, make_user, db):
    name = make_user()
    db.execute("UPDATE app_user SET must_change_password = true WHERE username = %s", (name,))
    r = sign_in(client, name)
    assert r.status_code == 200 and r.json["must_change_password"] is True
    h = {"Authorization": "Bearer " + r.json["token"]}
    for path in ("/api/v1/me", "/api/v1/grids", "/api/v1/sync/pull"):
        r = client.get(path, headers=h)
        assert r.status_code == 403 and r.json["error"]["code"] == "password_change_required"
    change = "/api/v1/auth/password"
    r = client.post(change, headers=h, json={"old": "not-the-password-1", "new": NEW_PASSWORD})
    assert r.status_code == 403 and r.json["error"]["code"] == "invalid_credentials"
    for weak in ("woaini1314", "short-1", PASSWORD):
        r = client.post(change, headers=h, json={"old": PASSWORD, "new": weak})
        assert r.status_code == 422 and r.json["error"]["code"] == "weak_password", r.json
    r = client.post(change, headers=h, json={"old": PASSWORD, "new": NEW_PASSWORD})
    assert r.status_code == 204, r.json
    assert client.get("/api/v1/me", headers=h).status_code == 200
    assert sign_in(client, name).status_code == 401  # the old password is gone
    r = sign_in(client, name, NEW_PASSWORD)
    assert r.status_code == 200 and r.json["must_change_password"] is False
    assert audit_results(db, "auth.password", name) == [
        "invalid_credentials", "weak_password", "weak_password", "weak_password", "ok"]


def test_a_password_change_signs_out_the_other_devices(client, make_user):
    name = make_user()
    here, there = ApiClient(client, name), ApiClient(client, name)
    r = here.post("/api/v1/auth/password", json={"old": PASSWORD, "new": NEW_PASSWORD})
    assert r.status_code == 204
    assert here.get("/api/v1/me").status_code == 200
    assert there.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("field", ["username", "password", "device_id"])
@pytest.mark.parametrize("junk", ["a\x00b", "\x00", "x" * 100_000, "a\nb"])
def test_junk_in_sign_in_is_4xx_json(client, make_user, db, field, junk):
    body = {"username": make_user(), "password": PASSWORD, "device_id": unique("dev-")}
    body[field] = junk
    before = db.execute("SELECT count(*) FROM signin_failure").fetchone()[0]
    r = client.post(TOKEN, json=body, environ_base={"REMOTE_ADDR": new_ip()})
    assert r.status_code in (400, 422), r.data[:200]
    assert field in r.json["error"]["details"]["json"]
    assert db.execute("SELECT count(*) FROM signin_failure").fetchone()[0] == before


def test_logout_is_audited(client, make_user, db):
    name = make_user()
    dev = ApiClient(client, name)
    assert client.delete(TOKEN, headers=dev.headers).status_code == 204
    assert audit_results(db, "auth.signout", name) == ["ok"]
    row = db.execute("SELECT device_id, user_id IS NOT NULL FROM audit_log "
                     "WHERE action = 'auth.signout' AND username = %s",
                     (name,)).fetchone()
    assert row == (dev.device_id, True)


def test_openapi_documents_the_refusals(client):
    spec = client.get("/api/v1/openapi.json").json
    sign = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert {"200", "401", "403", "422", "429"} <= set(sign)
    assert "Retry-After" in sign["429"]["headers"]
    change = spec["paths"]["/api/v1/auth/password"]["post"]
    assert {"204", "401", "403", "422", "429"} <= set(change["responses"])
    assert "must_change_password" in spec["components"]["schemas"]["Token"]["properties"]


@pytest.mark.parametrize("name", ["a\x00b", "tab\there", "   "])
def test_users_create_refuses_names_nobody_could_sign_in_with(app, name):
    result = app.test_cli_runner().invoke(args=["users", "create", name, "--role", "patroller"],
                                          input=PASSWORD + "\n")
    assert result.exit_code == 1 and "username" in result.output, result.output


@pytest.mark.parametrize("proxies", [0, 1])
def test_trusted_proxies_decide_which_address_is_counted(database_url, tmp_path, db,
                                                         proxies):
    from server import create_app
    from server.extensions import db as sa

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                      "ATTACHMENT_DIR": str(tmp_path), "TRUSTED_PROXIES": proxies})
    try:
        name, proxy, client_ip = unique("fwd"), new_ip(), new_ip()
        r = app.test_client().post(TOKEN, json={"username": name, "password": "wrong-pass-1",
                                                "device_id": "d"},
                                   headers={"X-Forwarded-For": client_ip},
                                   environ_base={"REMOTE_ADDR": proxy})
        assert r.status_code == 401
        ip = db.execute("SELECT ip FROM signin_failure WHERE username = %s",
                        (name,)).fetchone()[0]
        # Without a trusted proxy the header is the client's to forge, and is ignored.
        assert ip == (client_ip if proxies else proxy)
    finally:
        with app.app_context():
            sa.engine.dispose()
