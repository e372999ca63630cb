"""Shared test fixtures: where the Timeloop reference corpus lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The problem shape of a GEMM Z[M,N] = A[M,K] . B[N,K] as Timeloop YAML, for tests that write their
# own inputs (the ``problem:`` key and its ``shape``; the test adds the ``instance``).
GEMM_SHAPE = """problem:
  shape:
    name: gemm
    dimensions: [M, N, K]
    data_spaces:
    - {name: A, projection: [[[M]], [[K]]]}
    - {name: B, projection: [[[N]], [[K]]]}
    - {name: Z, projection: [[[M]], [[N]]], read_write: true}"""


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
