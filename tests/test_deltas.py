"""The closed-form delta count against a literal replay of Timeloop's delta simulation."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesweep.engine.deltas import simple_deliveries, temporal_deliveries


def _aahr_minus(cur, prev):
    """|cur - prev| for AAHRs given as (low corner, extents), with Timeloop's AAHR rules."""
    (lo_c, ext), (lo_p, _) = cur, prev
    size = 1
    for e in ext:
        size *= e
    diff = [a - b for a, b in zip(lo_c, lo_p)]
    if not any(diff):
        return 0
    moved = [r for r, v in enumerate(diff) if v]
    if len(moved) > 1 or any(abs(diff[r]) >= ext[r] for r in moved):
        return size
    r = moved[0]
    return size // ext[r] * abs(diff[r])


def replay(moves, bounds, extents):
    """Visit the tile in the order Timeloop's extrapolated simulation does and sum deltas.

    Iterations #0 and #1 of every loop are simulated (innermost fastest); iteration #1
    counts bound-1 times.  The tile keeps its last point set and last translation and
    resets when the translation changes (SaveAndSubtractIfSameStride).
    """
    k = len(bounds)
    total = 0
    prev = None
    stride = None
    for pattern in itertools.product((0, 1), repeat=k):
        bits = pattern[::-1]  # innermost loop is the fastest-changing bit
        if any(b and bound < 2 for b, bound in zip(bits, bounds)):
            continue
        weight = 1
        for b, bound in zip(bits, bounds):
            if b:
                weight *= bound - 1
        low = [0] * len(extents)
        for b, move in zip(bits, moves):
            if b:
                low = [x + m for x, m in zip(low, move)]
        cur = (tuple(low), tuple(extents))
        if prev is None:
            delta = 1
            for e in extents:
                delta *= e
            stride = None
        else:
            t = tuple(a - b for a, b in zip(cur[0], prev[0]))
            if stride is None or stride == t:
                delta = _aahr_minus(cur, prev)
                stride = t
            else:
                delta = 1
                for e in extents:
                    delta *= e
                stride = None
        prev = cur
        total += weight * delta
    return total


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    ranks=st.integers(1, 3),
    loops=st.integers(0, 6),
)
def test_closed_form_matches_replay(data, ranks, loops):
    extents = data.draw(st.lists(st.integers(1, 6), min_size=ranks, max_size=ranks))
    bounds = data.draw(st.lists(st.integers(2, 5), min_size=loops, max_size=loops))
    moves = [tuple(data.draw(st.lists(st.integers(0, 7), min_size=ranks, max_size=ranks))) for _ in range(loops)]
    assert temporal_deliveries(moves, bounds, extents) == replay(moves, bounds, extents)


def test_sliding_window_reuses_overlap():
    # A 3-row input tile stepping one row at a time: the first fetch is the whole tile,
    # every later step brings one new row.
    assert temporal_deliveries([(1,)], [8], [3]) == 3 + 7 * 1


def test_stride_change_refetches_whole_tile():
    # An irrelevant inner loop (no move) under a sliding loop: the translation changes from
    # 0 to 1 at every outer step, so the whole tile is fetched each time.
    assert temporal_deliveries([(0,), (1,)], [4, 8], [3]) == 3 * 8


def test_simple_form_is_product_from_innermost_relevant_loop():
    assert simple_deliveries([False, True, False], [4, 8, 2], 16) == 16 * 8 * 2
    assert simple_deliveries([False, False], [4, 8], 16) == 16
    # and agrees with the general form when ranks are uncoupled
    assert temporal_deliveries([(0, 0), (4, 0), (0, 0)], [4, 8, 2], [4, 4]) == 16 * 8 * 2
