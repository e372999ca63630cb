"""Dense nest analysis on small, hand-computable nests."""

from __future__ import annotations

import pytest

from conftest import GEMM_SHAPE
from sparsesweep.engine import evaluate_spec
from sparsesweep.engine.nest import analyse
from sparsesweep.errors import MappingError
from sparsesweep.inputs import bundle_from_text
from sparsesweep.tl import load_spec

ARCH = """
architecture:
  version: 0.3
  subtree:
  - name: system
    local:
    - name: DRAM
      class: DRAM
      attributes: {{width: 8, datawidth: 8}}
    subtree:
    - name: PE[0..{pes_minus_1}]
      local:
      - name: Buffer
        class: storage
        subclass: regfile
        attributes: {{depth: 64, width: 8, datawidth: 8, meshX: {pes}}}
      - name: MAC
        class: compute
        subclass: intmac
        attributes: {{datawidth: 8, meshX: {pes}}}
{GEMM_SHAPE}
  instance: {{M: {M}, N: {N}, K: {K}}}
ERT:
  version: 0.3
  tables:
  - name: system.DRAM
    actions: [{{name: read, energy: 8}}, {{name: write, energy: 8}}]
  - name: system.PE[0..{pes_minus_1}].Buffer
    actions: [{{name: read, energy: 1}}, {{name: write, energy: 2}}]
  - name: system.PE[0..{pes_minus_1}].MAC
    actions: [{{name: mac_random, energy: 0.5}}]
mapping:
{mapping}
"""


def spec_for(mapping: str, M: int = 4, N: int = 4, K: int = 4, pes: int = 1):
    text = ARCH.format(GEMM_SHAPE=GEMM_SHAPE, mapping=mapping, M=M, N=N, K=K, pes=pes, pes_minus_1=pes - 1)
    return load_spec(bundle_from_text(text))


def tiles(spec):
    return analyse(spec.problem, spec.mapping).tiles


def test_one_level_reads_every_operand_once_per_compute():
    spec = spec_for("""
- {target: Buffer, type: temporal, factors: M1 N1 K1}
- {target: DRAM, type: temporal, factors: M4 N4 K4, permutation: KNM}
""")
    t = tiles(spec)
    # The buffer holds one element of each tensor; each MAC reads A and B once.
    assert t["A"][0].reads == t["B"][0].reads == 64
    # K is innermost at DRAM and irrelevant to Z: Z stays while K runs.
    assert t["Z"][1].updates == 16
    # The buffer sees each of the 16 outputs in turn: the first update of each needs no
    # read, and no fill (Timeloop master does not count a read-write tensor's first fill).
    assert t["Z"][0].partition == 16
    assert t["Z"][0].updates == 64 and t["Z"][0].reads == 64 - 16 and t["Z"][0].fills == 0
    # A depends on M and K; K is innermost, so every step brings a new A element.
    assert t["A"][1].reads == 64


def test_two_levels_temporal_reuse_at_the_buffer():
    spec = spec_for("""
- {target: Buffer, type: temporal, factors: M1 N4 K1, permutation: NKM}
- {target: DRAM, type: temporal, factors: M4 N1 K4, permutation: KMN}
""")
    t = tiles(spec)
    # A (M,K) is reused across the 4 N iterations inside the buffer.
    assert t["A"][0].size == 1 and t["A"][1].reads == 16
    # B (N,K) tile is 4 words, refetched at every K step and at every M step.
    assert t["B"][0].size == 4 and t["B"][0].fills == 4 * 16
    # Outputs: the Z tile (one row of 4) changes with M only; K inside M keeps it.
    assert t["Z"][1].updates == 16 and t["Z"][1].reads == 0


def test_spatial_multicast_and_reduction():
    spec = spec_for("""
- {target: Buffer, type: temporal, factors: M1 N1 K1}
- {target: DRAM, type: spatial, factors: M1 N4 K1, permutation: NMK}
- {target: DRAM, type: temporal, factors: M4 N1 K4, permutation: KMN}
""", pes=4)
    t = tiles(spec)
    # A does not depend on N: the 4 PEs share every A element (multicast 4).
    assert t["A"][1].reads == 16 and t["A"][0].fills == 16
    # B differs per PE: 4 distinct elements per step.
    assert t["B"][1].reads == 64
    spec = spec_for("""
- {target: Buffer, type: temporal, factors: M1 N1 K1}
- {target: DRAM, type: spatial, factors: M1 N1 K4, permutation: KMN}
- {target: DRAM, type: temporal, factors: M4 N4 K1, permutation: MNK}
""", pes=4)
    t = tiles(spec)
    # Z does not depend on K: the 4 partial sums are reduced before reaching DRAM.
    assert t["Z"][1].updates == 16
    assert t["Z"][0].updates == 16  # per PE: its own partial sums of the 16 outputs


def test_bypass_sends_traffic_to_the_next_level():
    spec = spec_for("""
- {target: Buffer, type: datatype, keep: [A, Z], bypass: [B]}
- {target: Buffer, type: temporal, factors: M1 N4 K1, permutation: NKM}
- {target: DRAM, type: temporal, factors: M4 N1 K4, permutation: KMN}
""")
    t = tiles(spec)
    assert not t["B"][0].kept and t["B"][0].reads == 0
    assert t["B"][1].reads == 64  # one per compute, straight from DRAM


def test_fanout_overflow_is_a_mapping_error():
    spec = spec_for("""
- {target: Buffer, type: temporal, factors: M1 N1 K1}
- {target: DRAM, type: spatial, factors: M1 N4 K1}
- {target: DRAM, type: temporal, factors: M4 N1 K4}
""", pes=2)
    with pytest.raises(MappingError, match="fanout is 2 x 1"):
        evaluate_spec(spec)


def test_energy_and_cycles_of_a_small_nest():
    spec = spec_for("""
- {target: Buffer, type: temporal, factors: M1 N1 K1}
- {target: DRAM, type: temporal, factors: M4 N4 K4, permutation: KNM}
""")
    result = evaluate_spec(spec).result
    assert result.cycles == 64
    assert result.computes.actual == 64
    assert result.levels["MAC"].energy_pj == pytest.approx(64 * 0.5)
    # Buffer: A and B 64 reads + 64 fills each (block size 1); Z 48 reads and 64 updates.
    buffer = result.levels["Buffer"].dataspaces
    assert buffer["A"].energy_pj == pytest.approx(64 * 1 + 64 * 2)
    assert buffer["Z"].energy_pj == pytest.approx(48 * 1 + 64 * 2)


BANK_ARCH = """
architecture:
  version: 0.3
  subtree:
  - name: system
    local:
    - name: Bank
      class: storage
      subclass: regfile
      attributes: {{depth: 256, width: 8, datawidth: 8}}
    subtree:
    - name: PE[0..{last}]
      local:
      - name: MAC
        class: compute
        subclass: intmac
        attributes: {{datawidth: 8, meshX: {mesh_x}}}
{GEMM_SHAPE}
  instance: {{M: 4, N: 4, K: 16}}
mapping:
{mapping}
"""


def bank_tiles(temporal: str, spatial: str, pes: int = 4, mesh_x: int = 4, extra: str = ""):
    mapping = (f"- {{target: Bank, type: temporal, {temporal}}}\n"
               f"- {{target: Bank, type: spatial, {spatial}{extra}}}\n")
    text = BANK_ARCH.format(GEMM_SHAPE=GEMM_SHAPE, mapping=mapping, last=pes - 1, mesh_x=mesh_x)
    spec = load_spec(bundle_from_text(text), need_energy=False)
    return analyse(spec.problem, spec.mapping, mesh=spec.arch.fanout(0)).tiles


def test_neighbour_links_carry_a_stationary_operand_between_compute_steps():
    # 4 MACs split K; the temporal K loop is innermost, so every MAC keeps working on the
    # same output while K steps.  Each MAC's neighbour held that output at the previous
    # step: the partial sum moves over the link, and the Bank sees each output once.
    z = bank_tiles("factors: M4 K4 N4, permutation: KNM", "factors: M1 K4 N1, permutation: KMN")["Z"][0]
    assert z.updates == 16 and z.reads == 0
    # Without links (Timeloop's no_link_transfer), every step updates the Bank once (4 MACs reduced).
    z = bank_tiles("factors: M4 K4 N4, permutation: KNM", "factors: M1 K4 N1, permutation: KMN",
                   extra=", no_link_transfer: [Z]")["Z"][0]
    assert z.updates == 64 and z.reads == 48
    # N innermost moves the output at every step: nothing to forward.
    z = bank_tiles("factors: M4 K4 N4, permutation: NKM", "factors: M1 K4 N1, permutation: KMN")["Z"][0]
    assert z.updates == 64
    # Split over M, each MAC has its own output and no neighbour shares it: every K step updates.
    z = bank_tiles("factors: M1 K16 N4, permutation: KNM", "factors: M4 K1 N1, permutation: MKN")["Z"][0]
    assert z.updates == 256


def test_links_only_between_mesh_neighbours():
    # A (M,K) is shared by the MACs that differ in N only.  N2 x M2 on a 4-wide row: the
    # N partners are side by side (indices 0-1, 2-3), so A is forwarded while it stays.
    a = bank_tiles("factors: M2 K16 N2, permutation: NKM", "factors: M2 K1 N2, permutation: NMK")["A"][0]
    assert a.reads == 2 * 16 * 2  # 2 distinct A values per step, only when K or M moves
    # M2 x N2 (M inner): the N partners are 2 apart, never neighbours on a 1 x 4 row ...
    a = bank_tiles("factors: M2 K16 N2, permutation: NKM", "factors: M2 K1 N2, permutation: MNK")["A"][0]
    assert a.reads == 2 * 64
    # ... but on a 2 x 2 mesh they are vertical neighbours.
    a = bank_tiles("factors: M2 K16 N2, permutation: NKM", "factors: M2 K1 N2, permutation: MNK, split: 1",
                   mesh_x=2)["A"][0]
    assert a.reads == 2 * 16 * 2
