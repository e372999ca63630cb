"""Searches that share a mapspace scan across memory settings (``search_group``) give every point
the mapping its own full search finds, also where capacity makes a neighbour's best mapping illegal."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from sparsesweep.backends.base import SearchOptions
from sparsesweep.engine import evaluate_spec
from sparsesweep.errors import MappingError
from sparsesweep.inputs import SpecBundle
from sparsesweep.mapper import search, search_group
from sparsesweep.tl import load_spec

REPO = Path(__file__).resolve().parents[1]
SMEM_KIB = (16, 64, 512)  # 16 KiB: too small for the best mappings of the larger settings
LRF_MD_FACTOR = (1, 2)


def _priced(bundle: SpecBundle, factor: float) -> SpecBundle:
    """The bundle with its SMEM energies scaled (as a memory setting's energy tables differ)."""
    ert = copy.deepcopy(bundle.data["ERT"])
    for table in ert["tables"]:
        if table["name"].endswith("SMEM"):
            for action in table["actions"]:
                action["energy"] = float(action["energy"]) * factor
    return bundle.with_data(ERT=ert)


def settings_of(layer: str, scheme: str, sides: str, sparsity: float) -> list[tuple[str, SpecBundle]]:
    from sparsesweep.render import render_point
    from sparsesweep.specs import load_arch, load_scheme, load_workload
    from sparsesweep.sweep.grid import with_setting

    spec = load_scheme(REPO / "sparse_opt" / f"{scheme}.yaml")
    arch = load_arch(REPO / "arch" / f"{spec.topology}.yaml")
    layers = {lay.name: lay for lay in load_workload(REPO / "workloads" / "resnet50.yaml").layers}
    out = []
    for kib in SMEM_KIB:
        for factor in LRF_MD_FACTOR:
            setting = (("smem_kib", kib), ("lrf_metadata_bits_factor", factor))
            point = render_point(with_setting(arch, setting), layers[layer], spec, sides, sparsity)
            out.append((f"smem{kib}-lrfmd{factor}", _priced(point.bundle, (kib / 64) ** 2)))
    return out


def objective(found) -> float:
    return found.result.energy_pj * found.result.cycles


def fits(bundle: SpecBundle, mapping) -> bool:
    try:
        evaluate_spec(load_spec(bundle.with_data(mapping=mapping)))
    except MappingError:
        return False
    return True


SAMPLE = [("conv4_2-6_a_1x1", "dense", "single", 0.0), ("conv3_1_b_3x3", "structured", "dual", 0.5),
          ("conv3_1_b_3x3", "unstructured_position_skipping", "single", 0.75),
          ("conv5_1_c_1x1", "unstructured_position_skipping", "dual", 0.5)]


@pytest.fixture(scope="module")
def compared():
    """Per sampled layer and design: each setting's own search and its shared one."""
    options = SearchOptions(objective="edp")
    out = []
    for case in SAMPLE:
        points = settings_of(*case)
        bundles = [b for _, b in points]
        own = [search(b, options, cache=False) for b in bundles]
        shared = search_group(bundles, options, cache=False)
        out.append((case, points, own, shared))
    return out


def test_every_point_gets_at_least_its_own_searchs_mapping(compared):
    for case, points, own, shared in compared:
        for (name, _), mine, group in zip(points, own, shared):
            assert not isinstance(group, Exception), (case, name, group)
            assert group.extra.get("shared_scan") == len(points), (case, name)  # it did share
            assert objective(group) <= objective(mine) * (1 + 1e-12), (case, name)
            # by construction the shared scan ranks the same candidates in the same order
            assert group.mapping == mine.mapping, (case, name)


def test_the_sample_has_settings_where_a_neighbours_best_mapping_does_not_fit(compared):
    """Reusing a neighbour's mapping would be wrong there: the shared search does not."""
    illegal = 0
    differing = sum(len({str(o.mapping) for o in own}) > 1 for _case, _points, own, _shared in compared)
    assert differing >= 2  # the settings' energies and capacities change the best mapping
    for _case, points, own, _shared in compared:
        for (name, bundle), mine in zip(points, own):
            for other in own:
                if other.mapping != mine.mapping and not fits(bundle, other.mapping):
                    illegal += 1
    assert illegal > 0


def test_points_that_cannot_share_are_searched_alone():
    """Another layer in the group: its own scan, its own result."""
    options = SearchOptions(objective="edp")
    a = settings_of("conv4_2-6_a_1x1", "dense", "single", 0.0)[:2]
    b = settings_of("conv5_1_c_1x1", "dense", "single", 0.0)[:1]
    bundles = [x for _, x in a + b]
    shared = search_group(bundles, options, cache=False)
    own = [search(x, options, cache=False) for x in bundles]
    assert [s.mapping for s in shared] == [o.mapping for o in own]
    assert [s.extra.get("shared_scan") for s in shared] == [2, 2, None]


def test_settings_the_batch_model_cannot_tell_apart_are_scanned_once(monkeypatch):
    """Settings that differ only where the batch model does not look (the LRF's metadata width) scan
    once; each still gets its own search's mapping from its own exact evaluations."""
    from sparsesweep.mapper import shared as shared_mod

    merged: set[int] = set()
    real = shared_mod._merge

    def counting(run, *args):
        merged.add(id(run))
        return real(run, *args)

    monkeypatch.setattr(shared_mod, "_merge", counting)
    options = SearchOptions(objective="edp")
    bundles = [b for _, b in settings_of("conv4_2-6_a_1x1", "dense", "single", 0.0)]
    group = search_group(bundles, options, cache=False)
    assert len(merged) == len(SMEM_KIB) < len(bundles)  # one scan per SMEM size, not per setting
    own = [search(b, options, cache=False) for b in bundles]
    assert [g.mapping for g in group] == [o.mapping for o in own]


def test_a_group_shares_the_time_limit_of_all_its_points(monkeypatch):
    """Interleaved searches share one deadline: every point's time limit, summed (a group slower than one
    point's limit, e.g. on a busy machine, cuts no point short that its own search would finish)."""
    from sparsesweep.mapper import shared as shared_mod

    deadlines: list[float] = []
    real = shared_mod.finish

    def finish(run, extra=None):
        deadlines.append(run.deadline - run.start)
        return real(run, extra)

    monkeypatch.setattr(shared_mod, "finish", finish)
    bundles = [b for _, b in settings_of("conv4_2-6_a_1x1", "dense", "single", 0.0)]
    search_group(bundles, SearchOptions(objective="edp", time_limit_s=2.0), cache=False)
    assert deadlines == [pytest.approx(2.0 * len(bundles))] * len(bundles)
