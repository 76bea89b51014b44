"""Recognising grid attributes under English, pinyin-initial and Chinese names.

Examples
--------
>>> resolve_field_map(["WGBM", "WGMC", "JDMC", "SQBM", "Shape_Area"])
{'code': 'WGBM', 'name': 'WGMC', 'street_name': 'JDMC', 'community_code': 'SQBM'}
>>> resolve_field_map(["网格编码", "网格名称", "街道", "社区名称", "户数"])
{'code': '网格编码', 'name': '网格名称', 'street_name': '街道', 'community_name': '社区名称', 'households': '户数'}
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "LOGICAL_FIELDS",
    "code_to_str",
    "derive_hierarchy",
    "json_value",
    "parse_field_map",
    "resolve_field_map",
    "to_households",
    "to_text",
]

# Logical field -> accepted source names, best first. Matching ignores case,
# spaces, dashes and underscores, so "GRID_CODE" matches "gridcode".
LOGICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("code", "grid_code", "gridcode", "grid_id", "wgbm", "wgdm", "wgbh",
             "网格编码", "网格代码", "网格编号", "网格码", "编码", "代码"),
    "name": ("name", "grid_name", "gridname", "wgmc", "网格名称", "网格名", "名称"),
    "district_code": ("district_code", "qxbm", "qxdm", "区县编码", "区县代码", "区编码"),
    "street_code": ("street_code", "jdbm", "jddm", "街道编码", "街道代码", "街镇编码"),
    "street_name": ("street", "street_name", "jdmc", "街道", "街道名称", "街镇", "街镇名称"),
    "community_code": ("community_code", "sqbm", "sqdm", "社区编码", "社区代码", "村社区编码"),
    "community_name": ("community", "community_name", "sqmc", "社区", "社区名称", "村社区",
                       "村社区名称"),
    "kind": ("kind", "type", "grid_type", "wglx", "类型", "网格类型", "网格类别"),
    "households": ("households", "household", "hs", "户数", "住户数", "总户数"),
}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).casefold()


def parse_field_map(text: str | None) -> dict[str, str]:
    """Parse a ``--map code=FIELD,name=FIELD`` option.

    Examples
    --------
    >>> parse_field_map("code=WG_ID, name=MC")
    {'code': 'WG_ID', 'name': 'MC'}
    >>> parse_field_map("street=JD")
    {'street_name': 'JD'}
    >>> parse_field_map("colour=X")
    Traceback (most recent call last):
    ...
    ValueError: unknown field 'colour' in --map: expected one of code, name, ...
    """
    result: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not value.strip():
            raise ValueError(f"bad --map item {item.strip()!r}: expected LOGICAL=FIELD")
        result[canonical_logical(key)] = value.strip()
    return result


def canonical_logical(key: str) -> str:
    """Canonical logical field name; ``street``/``community`` mean their names."""
    key = key.strip().lower()
    key = {"street": "street_name", "community": "community_name", "household": "households"}.get(
        key, key)
    if key not in LOGICAL_FIELDS:
        raise ValueError(
            f"unknown field {key!r} in --map: expected one of {', '.join(LOGICAL_FIELDS)}")
    return key


def resolve_field_map(columns: Iterable[str],
                      overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map logical fields to source columns; ``overrides`` win.

    Override values are matched to columns case-insensitively; an override
    naming a missing column raises ``KeyError`` with the available columns.

    Examples
    --------
    >>> resolve_field_map(["CODE", "WG_ID", "HOUSEHOLD"], {"code": "wg_id"})
    {'code': 'WG_ID', 'households': 'HOUSEHOLD'}
    """
    columns = list(columns)
    by_norm: dict[str, str] = {}
    for name in columns:
        by_norm.setdefault(_norm(name), name)
    result: dict[str, str] = {}
    col: str | None
    for key, field in (overrides or {}).items():
        logical = canonical_logical(key)
        col = field if field in columns else by_norm.get(_norm(field))
        if col is None:
            raise KeyError(f"--map {logical}={field}: no such field; columns are: "
                           f"{', '.join(columns)}")
        result[logical] = col
    used = set(result.values())
    for logical, aliases in LOGICAL_FIELDS.items():
        if logical in result:
            continue
        for alias in aliases:
            col = by_norm.get(_norm(alias))
            if col is not None and col not in used:
                result[logical] = col
                used.add(col)
                break
    order = list(LOGICAL_FIELDS)
    return dict(sorted(result.items(), key=lambda kv: order.index(kv[0])))


def json_value(value: Any) -> Any:
    """Make an attribute value JSON-serialisable (NaN and NaT become ``None``).

    Examples
    --------
    >>> json_value(np.int32(3)), json_value(float("nan")), json_value(np.float64(2.5))
    (3, None, 2.5)
    >>> json_value(dt.date(2024, 1, 2))
    '2024-01-02'
    """
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def code_to_str(value: Any) -> str | None:
    """A code as a string: numeric DBF values lose their ``.0``; blank is ``None``.

    Examples
    --------
    >>> code_to_str(320105001001001.0), code_to_str(" 320105001001001 "), code_to_str("")
    ('320105001001001', '320105001001001', None)
    >>> code_to_str("3.20105001001001e+14"), code_to_str(None)
    ('320105001001001', None)
    """
    value = json_value(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    # spreadsheets turn long codes into "3.2e+14" or "320105001001001.0"
    if re.fullmatch(r"\d+\.0+|\d(\.\d+)?[eE]\+?\d+", text):
        number = float(text)
        if number.is_integer() and abs(number) < 2**53:
            return str(int(number))
    return text or None


def to_text(value: Any) -> str | None:
    """An optional text attribute (names, kind); numbers become strings.

    Examples
    --------
    >>> to_text("  示范街道 "), to_text(None), to_text(12.0)
    ('示范街道', None, '12')
    """
    return code_to_str(value)


def to_households(value: Any) -> int | None:
    """Households as ``int``, ``None`` if absent or not a whole number.

    Examples
    --------
    >>> to_households("281"), to_households(150.0), to_households("约200"), to_households(None)
    (281, 150, None, None)
    """
    value = json_value(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


def derive_hierarchy(code: str, street_code: str | None,
                     community_code: str | None) -> tuple[str | None, str | None, str | None]:
    """District, street and community codes, derived from a 15-digit code.

    Attributes win over derivation; other codes derive nothing.

    Examples
    --------
    >>> derive_hierarchy("320105001002003", None, None)
    ('320105', '320105001', '320105001002')
    >>> derive_hierarchy("320105001002003", "S1", None)
    ('320105', 'S1', '320105001002')
    >>> derive_hierarchy("G-17", None, None)
    (None, None, None)
    """
    if re.fullmatch(r"\d{15}", code):
        return code[:6], street_code or code[:9], community_code or code[:12]
    return None, street_code, community_code
