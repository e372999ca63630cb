"""Link transfers: sliding-window data forwarded between neighbouring storage instances."""

from __future__ import annotations

from sparsesweep.engine import evaluate_spec
from sparsesweep.engine.nest import analyse
from sparsesweep.inputs import bundle_from_text
from sparsesweep.tl import load_spec

CONV1D = """
architecture:
  version: 0.3
  subtree:
  - name: system
    local:
    - {{name: Buffer, class: storage, subclass: regfile, attributes: {{depth: 4096, width: 8, datawidth: 8}}}}
    subtree:
    - name: PE[0..3]
      local:
      - {{name: Reg, class: storage, subclass: regfile, attributes: {{depth: 16, width: 8, datawidth: 8, meshX: 4}}}}
      - {{name: MAC, class: compute, subclass: intmac, attributes: {{datawidth: 8, meshX: 4}}}}
problem:
  shape:
    name: conv1d
    dimensions: [S, Q]
    data_spaces:
    - {{name: W, projection: [[[S]]]}}
    - {{name: I, projection: [[[S], [Q]]]}}
    - {{name: O, projection: [[[Q]]], read_write: true}}
  instance: {{S: 4, Q: 8}}
mapping:
- {{target: Reg, type: temporal, factors: S1 Q1}}
- {{target: Buffer, type: spatial, factors: {spatial}{links}}}
- {{target: Buffer, type: temporal, factors: {temporal}, permutation: QS}}
ERT:
  version: 0.3
  tables:
  - {{name: system.Buffer, actions: [{{name: read, energy: 2}}, {{name: write, energy: 2}}]}}
  - {{name: "system.PE[0..3].Reg", actions: [{{name: read, energy: 1}}, {{name: write, energy: 1}}]}}
  - {{name: "system.PE[0..3].MAC", actions: [{{name: mac_random, energy: 1}}]}}
"""


def _spec(spatial: str, temporal: str, links: str = ""):
    return load_spec(bundle_from_text(CONV1D.format(spatial=spatial, temporal=temporal, links=links)))


def _inputs(spatial: str, temporal: str, links: str = ""):
    spec = _spec(spatial, temporal, links)
    meshes = [spec.arch.fanout(i) for i in range(len(spec.arch.storage))]
    reg, buffer = analyse(spec.problem, spec.mapping, meshes=meshes).tiles["I"]
    return reg, buffer


def test_sliding_window_moves_over_the_links_between_neighbours():
    # PEs hold taps S (PE s needs I[q + s]); each Q step shifts every PE's input by one, onto
    # what its right neighbour held at the previous step.  The first step reads 4 inputs; then
    # PEs 0..2 get theirs over the link and only PE 3 reads the Buffer: 4 + 7 x 1 reads, and
    # 7 x 3 = 21 transfers, which Timeloop spreads over the 4 Regs (5.25 reads and fills each).
    reg, buffer = _inputs("S4 Q1", "S1 Q8")
    assert buffer.reads == 11
    assert reg.fills == 11 / 4 + 21 / 4
    assert reg.reads == round(8 + 21 / 4)
    result = evaluate_spec(_spec("S4 Q1", "S1 Q8")).result
    assert result.computes.actual == 32


def test_no_link_transfer_turns_the_links_off():
    # Without links every step delivers 4 distinct inputs: 8 x 4 Buffer reads, one fill per Reg step.
    reg, buffer = _inputs("S4 Q1", "S1 Q8", ", no_link_transfer: [I]")
    assert buffer.reads == 32
    assert (reg.fills, reg.reads) == (8, 8)


def test_mappings_without_neighbour_moves_are_not_affected():
    # Outputs spread over PEs (spatial Q), taps in time: inputs move by 4 per Q step, not by 1.
    reg, buffer = _inputs("S1 Q4", "S4 Q2")
    unlinked = _inputs("S1 Q4", "S4 Q2", ", no_link_transfer: [I]")
    assert (reg, buffer) == unlinked
    assert evaluate_spec(_spec("S1 Q4", "S4 Q2")).result.computes.actual == 32
