"""Mappings where Timeloop would forward data between neighbour instances are refused clearly."""

from __future__ import annotations

import pytest

from sparsesweep.engine import evaluate_spec
from sparsesweep.errors import SpecError
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


def test_sliding_window_across_neighbours_is_refused_with_the_fix():
    # PEs hold taps S; the temporal Q loop shifts every PE's input by one, onto its neighbour's.
    with pytest.raises(SpecError, match=r"'Buffer', 'I' tiles move by exactly the offset.*no_link_transfer: \[I\]"):
        evaluate_spec(_spec("S4 Q1", "S1 Q8"))


def test_no_link_transfer_makes_the_point_evaluable():
    result = evaluate_spec(_spec("S4 Q1", "S1 Q8", ", no_link_transfer: [I]")).result
    assert result.computes.actual == 32


def test_mappings_without_neighbour_moves_are_not_affected():
    # Outputs spread over PEs (spatial Q), taps in time: inputs move by 4 per Q step, not by 1.
    assert evaluate_spec(_spec("S1 Q4", "S4 Q2")).result.computes.actual == 32
