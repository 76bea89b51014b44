"""Shared helpers of the console tests."""

from __future__ import annotations

import math
import uuid
from typing import Any

NOW = "2026-11-23T08:15:00+08:00"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, x, y


def point(p: tuple[float, float], dx: float = 0.0, dy: float = 0.0) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [p[0] + dx, p[1] + dy]}


def inspection(kind: str, p: tuple[float, float], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": kind, "occurred_at": NOW, "location": point(p),
                            "note": f"{kind} 测试"}
    if kind == "patrol":
        data.update(track={"type": "LineString", "coordinates": [
            [p[0] - 0.0004, p[1] - 0.0003], list(p), [p[0] + 0.0004, p[1] + 0.0002]]},
            started_at=NOW, ended_at=NOW)
    if kind in ("report", "handle"):
        data.update(category="市容环境", title=f"{kind} 井盖缺失", urgent=False)
    data.update(extra)
    return data


def incident(p: tuple[float, float], title: str = "占道经营", urgent: bool = False,
             **extra: Any) -> dict[str, Any]:
    return {"category": "市容环境", "title": title, "description": "<b>描述</b>",
            "urgent": urgent, "location": point(p), **extra}


def new_incident(dev, p: tuple[float, float], **kw: Any) -> str:
    op = dev.op("incident", "create", incident(p, **kw))
    result = dev.push(op)[0]
    assert result["status"] == "applied", result
    return op["id"]


def tile_url(layer: str, z: int, x: int, y: int, query: str = "") -> str:
    return f"/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt" + (f"?{query}" if query else "")


def uid() -> str:
    return str(uuid.uuid4())
