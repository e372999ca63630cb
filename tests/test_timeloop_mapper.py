"""Our mapper against real ``timeloop-mapper`` on a few rendered sweep points (same inputs, same
objective, bounded Timeloop searches; see ``mapper_vs_timeloop.py``).  Timeloop's best mapping
must not beat ours by more than 1%, unless timeloop-model itself refuses that mapping under the
point's constraints (then it is outside the space any re-evaluable mapping can come from, and the
test checks that our literal check is what says so).  ``bench/mapper_vs_timeloop.py`` prints the
figures for more points.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sparsesweep.backends.tlrun import find_binary
from sparsesweep.errors import BackendError

sys.path.insert(0, str(Path(__file__).parent))
from mapper_vs_timeloop import bounded_settings, compare_point  # noqa: E402


def _found() -> bool:
    try:
        find_binary("timeloop-mapper")
        find_binary("timeloop-model")
    except BackendError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _found(), reason="no timeloop-mapper (PATH, $TIMELOOP_ROOT, ../shared/timeloop)")
TINY = Path(__file__).parent / "fixtures" / "workload_tiny.yaml"
SETTINGS = bounded_settings("edp", search_size=500, victory=100, timeout=2000, threads=1)


@pytest.mark.parametrize("layer, scheme, sides, sparsity", [
    ("conv_3x3", "dense", "single", 0.0),
    ("conv_3x3", "structured", "dual", 0.5),
    ("fc", "unstructured", "single", 0.5),
])
def test_timeloop_mapper_finds_nothing_better_than_ours(layer, scheme, sides, sparsity, tmp_path):
    c = compare_point(layer, scheme, sides, sparsity, "edp", workload=TINY, settings=SETTINGS, time_limit_s=8,
                      workdir=tmp_path)
    assert c.timeloop is not None, f"{c.point}: timeloop-mapper found no mapping ({c.note})"
    assert c.model_refused == bool(c.timeloop_refused), (c.point, c.timeloop_refused)
    if c.timeloop_refused:
        print(f"{c.point}: timeloop-mapper's best (x{c.ratio:.3f} ours) is refused by timeloop-model: "
              f"{c.timeloop_refused[0]}")
        return
    assert c.ours <= 1.01 * c.timeloop, f"{c.point}: Timeloop's mapping is {1 - 1 / c.ratio:.1%} better"
    print(f"{c.point}: ours is {c.ratio - 1:.2%} better than timeloop-mapper's")
