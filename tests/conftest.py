"""Shared test fixtures: where the Timeloop reference corpus lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def reference_root() -> Path:
    """``$SPARSESWEEP_REFERENCE``, else ``<repo>/../shared/reference``, else ``/work/shared/reference``."""
    candidates = [os.environ.get("SPARSESWEEP_REFERENCE"), REPO.parent / "shared" / "reference",
                  Path("/work/shared/reference")]
    for cand in candidates:
        if cand and (Path(cand) / "README.md").is_file():
            return Path(cand)
    raise RuntimeError(
        "Timeloop reference corpus not found: set SPARSESWEEP_REFERENCE to the shared/reference folder"
    )


@pytest.fixture(scope="session")
def reference() -> Path:
    return reference_root()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen", action="store_true", default=False,
                     help="rewrite the golden files in tests/golden/ from the code's current output")


@pytest.fixture(scope="session")
def regen(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen"))
