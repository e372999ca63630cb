"""Sliding-window (halo) reuse of a conv1d input tile across loops that do not move it.

A Buffer holds an input tile of a 1-D convolution (Inputs[C, S + Wstride*Q]); the loops of the
Backing level above it slide that tile along Q.  Timeloop compares each tile with the previous
one in time: loops that do not index Inputs (M) repeat the same tile, so the next step of the
sliding loop brings only the new rows, even when such a loop sits between the sliding loop and
the tile; a move in a new direction (the sliding loop wrapping, or C stepping) refetches the
whole tile.  Every expected count below is derived from the shape, not taken from a run.  The
mapper's batch model must give the same dense counts as the engine on each of these nests.
"""

from __future__ import annotations

import pytest

from sparsesweep.engine import evaluate_spec
from sparsesweep.inputs import bundle_from_text
from sparsesweep.mapper import batch, emit
from sparsesweep.mapper.constraints import parse_constraints
from sparsesweep.tl import load_spec

TEXT = """
architecture:
  version: 0.3
  subtree:
  - name: system
    local:
    - name: Backing
      class: SRAM
      attributes: {{depth: 4096, width: 8, datawidth: 8}}
    - name: Buffer
      class: storage
      subclass: regfile
      attributes: {{depth: 256, width: 8, datawidth: 8}}
    - name: MAC
      class: compute
      subclass: intmac
      attributes: {{datawidth: 8}}
problem:
  shape:
    name: conv1d
    dimensions: [M, C, S, Q]
    coefficients: [{{name: Wstride, default: 1}}]
    data_spaces:
    - {{name: Weights, projection: [[[M]], [[C]], [[S]]]}}
    - {{name: Inputs, projection: [[[C]], [[S], [Q, Wstride]]]}}
    - {{name: Outputs, projection: [[[M]], [[Q]]], read_write: true}}
  instance: {{M: {M}, C: {C}, S: {S}, Q: {Q}, Wstride: {stride}}}
ERT:
  version: 0.3
  tables:
  - name: system.Backing
    actions: [{{name: read, energy: 4}}, {{name: write, energy: 5}}]
  - name: system.Buffer
    actions: [{{name: read, energy: 1}}, {{name: write, energy: 1}}]
  - name: system.MAC
    actions: [{{name: mac_random, energy: 0.5}}]
mapping:
- {{target: Buffer, type: temporal, factors: M1 C{c_in} S{s_in} Q{q_in}, permutation: SQCM}}
- {{target: Backing, type: temporal, factors: M{m_out} C{c_out} S{s_out} Q{q_out}, permutation: {order}}}
"""


def conv1d(order: str, *, q_in: int, q_out: int, m_out: int = 1, c_in: int = 1, c_out: int = 1, S: int = 3,
           s_out: int = 1, stride: int = 1):
    text = TEXT.format(M=m_out, C=c_in * c_out, S=S * s_out, Q=q_in * q_out, stride=stride, c_in=c_in,
                       c_out=c_out, s_in=S, s_out=s_out, q_in=q_in, q_out=q_out, m_out=m_out, order=order)
    return load_spec(bundle_from_text(text))


def input_fills(spec) -> float:
    """Buffer.Inputs fills, after checking that the batch model agrees with the engine's nest."""
    nest = evaluate_spec(spec).nest
    rules = parse_constraints(spec)
    dense = batch.evaluate(batch.tables(spec, rules), emit.from_mapping(spec, spec.mapping))
    for ti, ds in enumerate(spec.problem.dataspaces):
        for li in range(len(spec.arch.storage)):
            tile = nest.tiles[ds.name][li]
            got = (dense.reads[0, li, ti], dense.fills[0, li, ti], dense.updates[0, li, ti])
            assert got == pytest.approx((tile.reads, tile.fills, tile.updates)), (ds.name, li)
    buffer, backing = nest.tiles["Inputs"]
    assert backing.reads == buffer.fills  # one Buffer: what it receives is what Backing reads
    return buffer.fills


def window(q_in: int, S: int, stride: int) -> int:
    """Input rows of a tile of q_in outputs: the halo of S - 1 rows with stride 1."""
    return (q_in - 1) * stride + S


@pytest.mark.parametrize("stride", [1, 2])
def test_irrelevant_loop_inside_the_sliding_loop_keeps_the_halo(stride):
    # "MQ": M (does not index Inputs) is innermost at Backing, below the sliding Q loop.  The
    # tile comes once, then each Q step brings the rows it has not seen (the window moves by
    # stride * q_in rows), exactly as without the M loop; the M steps deliver nothing.
    q_in, q_out, S = 4, 5, 3
    tile = window(q_in, S, stride)
    new = min(stride * q_in, tile)
    alone = input_fills(conv1d("MQ", q_in=q_in, q_out=q_out, m_out=1, S=S, stride=stride))
    assert alone == tile + (q_out - 1) * new
    assert input_fills(conv1d("MQ", q_in=q_in, q_out=q_out, m_out=2, S=S, stride=stride)) == alone
    assert alone < q_out * tile  # less than a full tile per step


def test_a_wrapping_sliding_loop_refetches_the_whole_tile():
    # "QM": Q innermost, M outside it.  When M steps, Q wraps back to the start (a move in a
    # new direction): the whole tile comes again, then each Q step brings new rows again.
    q_in, q_out, m_out, S = 2, 4, 3, 3
    tile = window(q_in, S, 1)
    per_sweep = tile + (q_out - 1) * q_in
    assert input_fills(conv1d("QM", q_in=q_in, q_out=q_out, m_out=m_out, S=S)) == m_out * per_sweep


@pytest.mark.parametrize("order", ["MCQ", "CQM"])
def test_a_relevant_loop_between_breaks_the_reuse(order):
    # C indexes Inputs along another rank: with C inside Q ("MCQ": M innermost, then C, then Q)
    # every C step moves the tile by its whole C extent and every Q step comes after C wrapped
    # back (a new direction), so each (C, Q) iteration fetches a full tile.  With C innermost
    # ("CQM") the same holds, M repeating the whole sequence.
    q_in, q_out, c_in, c_out, S = 2, 3, 2, 3, 3
    tile = c_in * window(q_in, S, 1)
    m_out = 2
    sweeps = m_out if order.index("M") > order.index("Q") else 1
    fills = input_fills(conv1d(order, q_in=q_in, q_out=q_out, m_out=m_out, c_in=c_in, c_out=c_out, S=S))
    assert fills == sweeps * c_out * q_out * tile


def test_a_step_that_lands_the_tile_where_an_inner_step_left_it_delivers_nothing():
    # Timeloop simulates iterations 0 and 1 of every loop and weighs iteration 1 by bound - 1.
    # A one-row tile (S1 Q1 in the Buffer) under Backing loops S (innermost) and Q: the S step
    # moves it by one row (one new row, S - 1 times per Q iteration); the Q step goes from
    # (s=1, q=0) to (s=0, q=1), the same row: a stationary visit, nothing delivered.
    # M innermost only repeats the tile.
    s_out, q_out = 3, 6
    fills = input_fills(conv1d("MSQ", q_in=1, q_out=q_out, m_out=2, S=1, s_out=s_out))
    assert fills == 1 + (s_out - 1) * q_out * 1
