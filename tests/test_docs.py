"""The API reference (docs/api.md) is what docs/generate_api.py writes from the package now:
regenerate it after changing a public signature or docstring."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_api_reference_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("generate_api", DOCS / "generate_api.py")
    assert spec is not None
    assert spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert (DOCS / "api.md").read_text() == generator.render(), (
        "docs/api.md is stale: run .venv/bin/python docs/generate_api.py"
    )
