"""A small Mapbox Vector Tile (protobuf) decoder, enough to check what tiles carry."""

from __future__ import annotations

import struct
from typing import Any


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield num, wire, value


def _packed(buf: bytes) -> list[int]:
    out, i = [], 0
    while i < len(buf):
        v, i = _varint(buf, i)
        out.append(v)
    return out


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _value(buf: bytes) -> Any:
    for num, _wire, v in _fields(buf):
        if num == 1:
            return v.decode()
        if num == 2:
            return struct.unpack("<f", v)[0]
        if num == 3:
            return struct.unpack("<d", v)[0]
        if num in (4, 5):
            return v if v < 2 ** 63 else v - 2 ** 64
        if num == 6:
            return _zigzag(v)
        if num == 7:
            return bool(v)
    return None


def _geometry(cmds: list[int]) -> list[list[tuple[int, int]]]:
    parts: list[list[tuple[int, int]]] = []
    x = y = i = 0
    while i < len(cmds):
        cmd, count = cmds[i] & 7, cmds[i] >> 3
        i += 1
        if cmd == 7:
            continue
        for _ in range(count):
            x += _zigzag(cmds[i])
            y += _zigzag(cmds[i + 1])
            i += 2
            if cmd == 1:
                parts.append([])
            parts[-1].append((x, y))
    return parts


def decode(tile: bytes) -> dict[str, dict[str, Any]]:
    """``{layer: {"extent", "features": [{"type", "properties", "geometry"}]}}``."""
    layers: dict[str, dict[str, Any]] = {}
    for num, _w, layer_buf in _fields(tile):
        if num != 3:
            continue
        name, keys, values, raw, extent = "", [], [], [], 4096
        for n, _w2, v in _fields(layer_buf):
            if n == 1:
                name = v.decode()
            elif n == 2:
                raw.append(v)
            elif n == 3:
                keys.append(v.decode())
            elif n == 4:
                values.append(_value(v))
            elif n == 5:
                extent = v
        features = []
        for fbuf in raw:
            tags: list[int] = []
            ftype, geom = 0, []
            for n, _w3, v in _fields(fbuf):
                if n == 2:
                    tags = _packed(v)
                elif n == 3:
                    ftype = v
                elif n == 4:
                    geom = _packed(v)
            props = {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}
            features.append({"type": {1: "Point", 2: "LineString", 3: "Polygon"}.get(ftype),
                             "properties": props, "geometry": _geometry(geom)})
        layers[name] = {"extent": extent, "features": features}
    return layers
