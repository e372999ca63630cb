"""The closed-form delta count against a literal replay of Timeloop's delta simulation."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesweep.engine.deltas import simple_deliveries, temporal_deliveries


def _points(low, extents):
    """Every point of the tile whose low corner is ``low``."""
    return set(itertools.product(*[range(lo, lo + e) for lo, e in zip(low, extents)]))


def replay(moves, bounds, extents):
    """Visit the tile in the order Timeloop's extrapolated simulation does and sum deltas.

    Iterations #0 and #1 of every loop are simulated (innermost fastest); iteration #1
    counts bound-1 times.  The tile keeps its last point set and last non-zero translation
    (SaveAndSubtractIfSameStride): a stationary visit (zero translation) subtracts and keeps
    the translation; a non-zero translation equal to the last one (or the first one after a
    reset) subtracts; any other translation discards the residual and fetches the whole tile.
    Deltas are literal set differences of the point sets.
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
        cur = _points(low, extents)
        if prev is None:
            delta = len(cur)
        else:
            t = tuple(a - b for a, b in zip(low, prev_low))
            if not any(t):
                delta = len(cur - prev)
            elif stride is None or stride == t:
                delta = len(cur - prev)
                stride = t
            else:
                delta = len(cur)
                stride = None
        prev, prev_low = cur, low
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
    # Stationary loops (every rank 0: loops the tensor does not depend on) drawn often.
    move = st.one_of(st.just((0,) * ranks), st.tuples(*[st.integers(0, 7)] * ranks))
    moves = [data.draw(move) for _ in range(loops)]
    assert temporal_deliveries(moves, bounds, extents) == replay(moves, bounds, extents)


def test_sliding_window_reuses_overlap():
    # A 3-row input tile stepping one row at a time: the first fetch is the whole tile,
    # every later step brings one new row.
    assert temporal_deliveries([(1,)], [8], [3]) == 3 + 7 * 1


def test_stationary_inner_loop_keeps_the_sliding_reuse():
    # An irrelevant inner loop (no move) under a sliding loop only repeats the same tile:
    # the first tile (3 rows) comes once, every later step of the sliding loop one new row.
    assert temporal_deliveries([(0,), (1,)], [4, 8], [3]) == 3 + 7 * 1


def test_stride_change_refetches_whole_tile():
    # A sliding loop (move 1 along a 3-row tile) under an irrelevant outer loop: when the
    # outer loop steps, the tile jumps back by 3 rows (a new direction), so the whole tile
    # is refetched, and the next sliding step after that reset reuses the overlap again.
    per_pass = 3 + (4 - 1) * 1
    assert temporal_deliveries([(1,), (0,)], [4, 5], [3]) == 5 * per_pass
    # A relevant loop in between (C: moves the 2x3 tile by its whole extent along rank 0)
    # under the sliding loop (rank 1), with an irrelevant loop innermost: every C step and
    # every sliding step is a new direction, so each (C, sliding) iteration fetches the tile.
    assert temporal_deliveries([(0, 0), (2, 0), (0, 1)], [3, 2, 4], [2, 3]) == 2 * 4 * 6


def test_simple_form_is_product_from_innermost_relevant_loop():
    assert simple_deliveries([False, True, False], [4, 8, 2], 16) == 16 * 8 * 2
    assert simple_deliveries([False, False], [4, 8], 16) == 16
    # and agrees with the general form when ranks are uncoupled
    assert temporal_deliveries([(0, 0), (4, 0), (0, 0)], [4, 8, 2], [4, 4]) == 16 * 8 * 2
