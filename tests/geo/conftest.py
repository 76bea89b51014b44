"""Fixtures for the geo tests; puts geo_helpers on the import path."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# pytest runs with --import-mode=importlib, so sibling helper modules are not
# importable by default
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def write_geojson(tmp_path: Path) -> Callable[..., Path]:
    """Write features as a FeatureCollection and return its path."""

    def _write(features: list[dict[str, Any]], name: str = "grids.geojson") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                   ensure_ascii=False), encoding="utf-8")
        return path

    return _write
