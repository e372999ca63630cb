"""The runner: cache hits and misses keyed by the rendered inputs, partial recomputation, failures,
the per-point folders, and the local-process and Dask executors (on the fake backend)."""

from __future__ import annotations

import json

from sweep_fakes import CountingRegistry, fake_registry, run_fake

from sparsesweep.backends.base import SearchOptions
from sparsesweep.render import render_point
from sparsesweep.sweep import keys, pointdirs
from sparsesweep.sweep.executors import DaskExecutor, InlineExecutor, LocalPoolExecutor
from sparsesweep.sweep.grid import SweepConfig, build_grid
from sparsesweep.sweep.outdir import OutDir
from sparsesweep.sweep.runner import mapper_settings, run_grid
from sparsesweep.sweep.store import Store
from sparsesweep.sweep.tables import results_frame


def _energies(run):
    return {o.point.id: (o.record["status"], (o.record.get("result") or {}).get("energy_pj")) for o in run.outcomes}


# The fake sweeps: 2 layers x (dense + each scheme's own hardware at sparsity 0 (2) + 2 schemes x 2 sides x 2 sparsities).


def test_a_repeated_sweep_is_served_from_the_cache(tmp_path):
    first = CountingRegistry()
    run1 = run_fake(tmp_path / "out", tmp_path / "cache", first)
    assert len(first.calls) == len(run1.grid.points) == 22 and run1.stats.computed == 22
    again = CountingRegistry()
    run2 = run_fake(tmp_path / "out", tmp_path / "cache", again)
    assert again.calls == [] and run2.stats.cached == 22 and all(o.cached for o in run2.outcomes)
    assert _energies(run1) == _energies(run2)


def test_the_result_key_is_the_hash_of_the_rendered_inputs(tmp_path):
    run = run_fake(tmp_path / "out", tmp_path / "cache", sparsities=(0.5,), schemes=("structured",),
                   sides=("single",), layers=("fc",))
    outcome = run.outcomes[-1]
    p = outcome.point
    rendered = render_point(p.arch, p.layer, p.variant.scheme, p.variant.sides, p.variant.sparsity,
                            mapper=mapper_settings("edp"))
    assert outcome.spec["input_hash"] == keys.input_hash(rendered.files)
    made_for = keys.result_payload(keys.input_hash(rendered.files), "fake", SearchOptions(), "test")
    record = Store.open(tmp_path / "cache").get_result(made_for)
    assert record["status"] == "ok" and record["for"] == made_for
    assert keys.result_key(keys.input_hash(rendered.files), "fake", SearchOptions(), "test") == keys.digest(made_for)


def test_a_partly_changed_sweep_recomputes_only_what_changed(tmp_path):
    run_fake(tmp_path / "out", tmp_path / "cache", axes=(("smem_kib", ("256",)),))
    counting = CountingRegistry()
    run = run_fake(tmp_path / "out", tmp_path / "cache", counting, axes=(("smem_kib", ("128", "256")),))
    new = [o.point.id for o in run.outcomes if not o.cached]
    assert sorted(counting.calls) == sorted(new) and len(new) == 22
    assert all("smem_kib128" in pid for pid in new)
    # other search settings or other code are other keys
    again = CountingRegistry()
    run_fake(tmp_path / "out", tmp_path / "cache", again, fingerprint="other code", layers=("fc",))
    assert len(again.calls) == 11


def test_the_same_rendered_inputs_share_one_result(tmp_path):
    """smem_kib=256 is the default: its points render exactly as the unswept ones and reuse their results."""
    run_fake(tmp_path / "out", tmp_path / "cache", layers=("fc",))
    counting = CountingRegistry()
    run = run_fake(tmp_path / "out2", tmp_path / "cache", counting, layers=("fc",), axes=(("smem_kib", ("256",)),))
    assert counting.calls == [] and run.stats.cached == 11


def test_failed_points_are_recorded_and_never_stop_the_sweep(tmp_path):
    registry = CountingRegistry(fail_layers=("fc",), crash_layers=("conv1",))
    run = run_fake(tmp_path / "out", tmp_path / "cache", registry, layers=("conv1", "fc", "conv2_1_a_1x1"))
    status = {o.point.layer.name: set() for o in run.outcomes}
    for o in run.outcomes:
        status[o.point.layer.name].add(o.record["status"])
    assert status == {"conv1": {"failed"}, "fc": {"failed"}, "conv2_1_a_1x1": {"ok"}}
    errors = {o.record["error_type"] for o in run.outcomes if o.record["status"] == "failed"}
    assert errors == {"MappingError", "ZeroDivisionError"}
    assert run.stats.failed == 22
    assert all("\n" not in o.record["error"] for o in run.outcomes if o.record["status"] == "failed")
    # a MappingError is deterministic and cached; an unexpected exception is retried on the next run
    again = CountingRegistry(fail_layers=("fc",), crash_layers=("conv1",))
    run_fake(tmp_path / "out", tmp_path / "cache", again, layers=("conv1", "fc", "conv2_1_a_1x1"))
    assert sorted({name.split("-")[0] for name in again.calls}) == ["conv1"] and len(again.calls) == 11


def test_every_point_gets_a_folder_with_its_timeloop_inputs_and_mapping(tmp_path):
    run = run_fake(tmp_path / "out", tmp_path / "cache", CountingRegistry(fail_layers=("fc",)))
    for o in run.outcomes:
        folder = pointdirs.point_dir(tmp_path / "out", o.point.id)
        assert (folder / "input.yaml").read_text() == o.spec["files"]["input.yaml"]
        assert (folder / "ERT.yaml").read_text() == o.spec["files"]["ERT.yaml"]
        assert "mapper:" in o.spec["files"]["input.yaml"] and "architecture_constraints:" in o.spec["files"]["input.yaml"]
        assert (folder / "mapping.yaml").exists() == (o.record["status"] == "ok")
    ok = next(o for o in run.outcomes if o.record["status"] == "ok")
    text = (pointdirs.point_dir(tmp_path / "out", ok.point.id) / "mapping.yaml").read_text()
    assert "timeloop-model input.yaml ERT.yaml mapping.yaml" in text and "target: DRAM" in text
    assert results_frame(run.outcomes, [], "fake", "edp")["point"].tolist() == [p.id for p in run.grid.points]


def test_a_damaged_cache_record_is_a_miss(tmp_path):
    run_fake(tmp_path / "out", tmp_path / "cache", layers=("fc",), sparsities=(0,))
    store = Store.open(tmp_path / "cache")
    (record,) = list((store.root / "results").glob("*/*.json"))
    record.write_text(record.read_text()[:50])
    counting = CountingRegistry()
    run_fake(tmp_path / "out", tmp_path / "cache", counting, layers=("fc",), sparsities=(0,))
    assert len(counting.calls) == 1 and json.loads(record.read_text())["status"] == "ok"


def _run_with(executor, tmp_path, name):
    grid = build_grid(SweepConfig(sparsities=(0, 0.5), layers=("conv1", "fc")))
    with OutDir.claim(tmp_path / f"out-{name}") as out:
        return run_grid(grid, backend="fake", options=SearchOptions(), registry=fake_registry(), store=Store.open(
            tmp_path / f"cache-{name}"), out=out, executor_factory=executor, progress=False, fingerprint="test")


def test_local_process_pool_gives_the_same_results_as_inline(tmp_path):
    inline = _run_with(InlineExecutor, tmp_path, "inline")
    pool = _run_with(lambda: LocalPoolExecutor(2), tmp_path, "pool")
    assert pool.stats.executor == "2 local processes" and pool.stats.computed == 14
    assert _energies(pool) == _energies(inline)


def test_dask_local_cluster_gives_the_same_results_as_inline(tmp_path):
    inline = _run_with(InlineExecutor, tmp_path, "inline")
    dask = _run_with(lambda: DaskExecutor("local", 2), tmp_path, "dask")
    assert dask.stats.executor.startswith("Dask LocalCluster") and dask.stats.computed == 14
    assert _energies(dask) == _energies(inline)


def test_a_mapping_file_is_the_yaml_of_the_whole_mapping_though_its_entries_are_dumped_once(tmp_path):
    from sparsesweep.yamlio import dump_yaml

    run = run_fake(tmp_path / "out", tmp_path / "cache", layers=("fc",))
    mappings = [o.record["mapping"] for o in run.outcomes if o.record["status"] == "ok"]
    awkward = [{"target": "yes", "type": "null", "factors": "1", "keep": [], "bypass": ["a: b", "", "- x"]},
               {"target": "RF", "factors": " ".join(f"M{i}" for i in range(60)), "permutation": "ü\tNKM",
                "split": 1, "nested": [{"a": [1, 2.5, None, True]}]}]
    for mapping in [*mappings, awkward, awkward[::-1], [], [{}]]:
        assert pointdirs.mapping_yaml(mapping) == dump_yaml({"mapping": mapping})
