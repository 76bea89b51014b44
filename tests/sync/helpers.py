"""Small builders shared by the sync tests."""

from __future__ import annotations

from typing import Any

GRID = "320105001001004"
OTHER_GRID = "320105002001001"


def point(xy: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(xy)}


def household(xy: tuple[float, float], **extra: Any) -> dict[str, Any]:
    return {"address": "江东中路 1 号", "building": "3", "unit": "2", "room": "301",
            "head_name": "王芳", "phone": "13812345678", "members": 3, "tags": [],
            "location": point(xy), **extra}


def incident(xy: tuple[float, float], **extra: Any) -> dict[str, Any]:
    return {"category": "市容环境", "title": "暴露垃圾", "description": "楼下垃圾堆积",
            "urgent": False, "location": point(xy), "photos": [], "notes": [], **extra}


def statuses(results: list[dict[str, Any]]) -> list[str]:
    return [r["status"] for r in results]


def record(db, record_id: str) -> dict[str, Any]:
    row = db.execute("SELECT version, data, deleted, conflict, grid_code FROM record "
                     "WHERE id = %s", (record_id,)).fetchone()
    assert row is not None, f"no record {record_id}"
    return {"version": row[0], "data": row[1], "deleted": row[2], "conflict": row[3],
            "grid_code": row[4]}
