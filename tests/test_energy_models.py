"""Size-aware energies and areas from component models: sources, cache, errors, and the ERT's use.

These run the installed hwcomponents models (CACTI is built when the package is installed) behind a
fresh component cache for the module; the test that counts model calls keeps its own caches.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import REPO

from sparsesweep.backends.native import NativeBackend
from sparsesweep.backends.base import SearchOptions
from sparsesweep.energy import CachedModels, Hwcomponents, ModelError, arch_components, arch_energies
from sparsesweep.energy.components import Component
from sparsesweep.energy.models import Estimate
from sparsesweep.errors import SpecError
from sparsesweep.specs import load_arch, load_scheme, load_workload
from sparsesweep.specs.arch import apply_overrides


def _arch(name: str, **overrides: object):
    arch = load_arch(REPO / "arch" / f"{name}.yaml")
    return apply_overrides(arch, overrides) if overrides else arch


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> CachedModels:
    """One fresh component cache for this module's tests (the counting test keeps its own)."""
    return CachedModels(Hwcomponents(), folder=tmp_path_factory.mktemp("components"))


def _sram(models: CachedModels, width: int, depth: int) -> float:
    attrs = (("depth", depth), ("n_banks", 1), ("n_rw_ports", 1), ("size", width * depth), ("tech_node", 45e-9),
             ("width", width))
    return models.estimate(Component("SMEM", "data", "sram", attrs, 1)).actions["read"]


def test_sram_read_energy_grows_with_capacity_and_width(models: CachedModels) -> None:
    by_depth = [_sram(models, 64, depth) for depth in (2048, 8192, 32768)]
    by_width = [_sram(models, width, 4096) for width in (32, 64, 256)]
    assert by_depth == sorted(by_depth) and len(set(by_depth)) == 3
    assert by_width == sorted(by_width) and len(set(by_width)) == 3


def test_sweeping_a_size_changes_that_level_only(models: CachedModels) -> None:
    smem = [arch_energies(_arch("stc", smem_kib=kib), "scaled", models).level_actions() for kib in (128, 256, 512)]
    reads = [t["SMEM"]["read"] for t in smem]
    assert reads == sorted(reads) and len(set(reads)) == 3
    assert smem[0]["RF"] == smem[2]["RF"] and smem[0]["SMEM"]["metadata_read"] == smem[2]["SMEM"]["metadata_read"]
    md = [arch_energies(_arch("stc", smem_metadata_kib=kib), "scaled", models).level_actions()["SMEM"]
          for kib in (32, 64, 128)]
    assert [m["metadata_read"] for m in md] == sorted(m["metadata_read"] for m in md)
    assert md[0]["metadata_read"] < md[2]["metadata_read"] and md[0]["read"] == md[2]["read"]


@pytest.mark.parametrize("source", ["scaled", "hwcomponents"])
def test_a_wider_metadata_word_costs_more_per_access(models: CachedModels, source: str) -> None:
    for name, base in (("stc", 8), ("dstc", 128)):
        tables = [arch_energies(_arch(name, lrf_metadata_bits=bits, **({"lrf_metadata_width_bits": None} if name == "stc"
                                                                         else {"lrf_metadata_width_bits": bits // 32})),
                                source, models).level_actions()["LRF"] for bits in (base // 2, base, base * 2)]
        energies = [t["metadata_read"] for t in tables]
        assert energies[0] < energies[1] < energies[2], (name, energies)


@pytest.mark.parametrize("name, dense", [("stc", False), ("stc", True), ("dstc", False)])
def test_scaled_equals_pinned_at_the_reference_point(models: CachedModels, name: str, dense: bool) -> None:
    arch = _arch(name)
    pinned = arch_energies(arch, "pinned", None, dense=dense).ert
    scaled = arch_energies(arch, "scaled", models, dense=dense).ert
    assert scaled == pinned


def test_area_follows_size_and_dense_designs_have_no_metadata_store(models: CachedModels) -> None:
    small, big = (arch_energies(_arch("stc", smem_kib=kib), "pinned", models) for kib in (128, 512))
    assert 0 < small.design_area_um2 < big.design_area_um2
    dense = arch_energies(_arch("stc"), "pinned", models, dense=True)
    assert not any(r.component.endswith("metadata") for r in dense.area)
    assert dense.design_area_um2 < arch_energies(_arch("stc"), "pinned", models).design_area_um2
    art = big.art()["ART"]
    assert art["design_area"] == pytest.approx(sum(t["total_area"] for t in art["tables"]), rel=1e-6)


def test_the_cache_is_hit_on_repeat_and_models_are_called_once_per_distinct_memory(tmp_path: Path) -> None:
    folder = tmp_path / "components"
    first = CachedModels(Hwcomponents(), folder=folder)
    for kib in (128, 256, 512):
        for dense in (False, True):
            arch_energies(_arch("stc", smem_kib=kib), "scaled", first, dense=dense)
    distinct = {first.key(c) for kib in (128, 256, 512) for c in arch_components(_arch("stc", smem_kib=kib))}
    assert sum(first.models.calls.values()) == len(distinct)  # once per distinct component
    assert first.models.calls["sram"] == 3 + 2  # SMEM x3 sizes, SMEM metadata, RF
    again = CachedModels(Hwcomponents(), folder=folder)  # a new sweep: only the disk cache is shared
    for kib in (128, 256, 512):
        arch_energies(_arch("stc", smem_kib=kib), "scaled", again)
    assert sum(again.models.calls.values()) == 0 and sum(again.calls.values()) == 0
    assert not list(folder.glob(".tmp-*"))  # atomic writes leave no partial files


def test_a_component_no_model_can_estimate_names_it_and_each_model_tried(models: CachedModels) -> None:
    with pytest.raises(ModelError) as err:
        arch_energies(_arch("stc", dram_width_bits=128), "hwcomponents", models)
    text = err.value.one_line()
    assert "\n" not in text and "DRAM.data" in text and "LPDDR4" in text and "Width is too large" in text
    with pytest.raises(ModelError) as err:
        arch_energies(_arch("stc", dram_type="GDDR9"), "scaled", models)
    assert "DRAM.data" in err.value.one_line() and "no installed model is named 'gddr9'" in err.value.one_line()
    with pytest.raises(SpecError) as err:
        arch_energies(_arch("stc", technology="7nm"), "scaled", models)
    assert "technology" in err.value.one_line() and "22nm and 90nm" in err.value.one_line()
    # pinned energies need no model: only the area is left out, with a warning
    pinned = arch_energies(_arch("stc", dram_type="GDDR9"), "pinned", models)
    assert pinned.area == () and "DRAM.data" in pinned.warnings[-1]


@dataclass
class FailingModels:
    """A model set whose SRAM tool fails, as CACTI does on a geometry it cannot build."""

    calls: Counter = field(default_factory=Counter)

    def fingerprint(self) -> str:
        return "failing"

    def estimate(self, component: Component) -> Estimate:
        self.calls[component.model_class] += 1
        if component.model_class == "sram":
            raise ModelError(f"component {component.name} ({component.describe()}): CACTI failed with exit code 1",
                             fix="change the geometry or use --energy pinned")
        return Estimate("fake", {"read": 1.0, "write": 1.0, "mac": 1.0}, 1.0, 0.0)


def test_the_ert_command_writes_tables_and_reports_model_failures_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "SPARSESWEEP_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "tables" / "ERT.yaml"
    cmd = [sys.executable, "-m", "sparsesweep.cli", "ert", "arch/stc.yaml", "--set", "smem_kib=512", "-o", str(out)]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and (out.parent / "ART.yaml").is_file()
    bad = subprocess.run(cmd[:-4] + ["--set", "dram_width_bits=128", "-o", str(tmp_path / "x.yaml")], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert "DRAM.data" in bad.stderr and "fix:" in bad.stderr
    with pytest.raises(ModelError, match="SMEM.data .*CACTI failed"):
        arch_energies(_arch("stc"), "scaled", CachedModels(FailingModels(), folder=tmp_path / "c2"))


class FlatModels:
    """Every component: 1 pJ per action and 1 um^2 (fast; the file names are what is tested)."""

    def fingerprint(self) -> str:
        return "flat"

    def estimate(self, component: Component) -> Estimate:
        return Estimate("flat", {"read": 1.0, "write": 1.0, "mac": 1.0}, 1.0, 0.0)


def test_two_tables_written_into_one_folder_keep_their_own_area_tables(tmp_path: Path) -> None:
    from sparsesweep.commands.ert import write_ert

    models = CachedModels(FlatModels(), folder=tmp_path / "c")
    written = {name: write_ert(_arch(name), tmp_path / f"{name}.yaml", models=models)
               for name in ("stc", "dstc")}
    assert [w[1].name for w in written.values()] == ["stc.ART.yaml", "dstc.ART.yaml"]
    for name, (ert, art, _) in written.items():
        assert f"arch '{name}'" in ert.read_text() and f"arch '{name}'" in art.read_text()
    assert write_ert(_arch("stc"), tmp_path / "ERT.yaml", models=models)[1] == tmp_path / "ART.yaml"
    with pytest.raises(SpecError, match="the output is a folder"):
        write_ert(_arch("stc"), tmp_path, models=models)


def _point(energies_source: str, models: CachedModels, **overrides: object):
    from sparsesweep.render import render_point

    arch = _arch("stc", **overrides)
    layer = load_workload(REPO / "workloads" / "resnet50.yaml").layer("conv3_1_b_3x3")
    scheme = load_scheme(REPO / "sparse_opt" / "structured.yaml")
    return render_point(arch, layer, scheme, "dual", 0.5, energies=arch_energies(arch, energies_source, models))


def test_the_generated_ert_loads_into_the_engine_and_follows_the_size(models: CachedModels) -> None:
    from sparsesweep.mapper import search

    pinned = _point("pinned", models)
    scaled = _point("scaled", models)
    assert scaled.files["ERT.yaml"].split("\n", 1)[1] == pinned.files["ERT.yaml"].split("\n", 1)[1]
    found = search(pinned.bundle, SearchOptions(objective="edp", time_limit_s=5), cache=False)
    base = NativeBackend().evaluate(pinned.bundle.with_data(mapping=found.mapping))
    same = NativeBackend().evaluate(scaled.bundle.with_data(mapping=found.mapping))
    assert same.energy_pj == base.energy_pj
    bigger = _point("scaled", models, smem_kib=512)  # same mapping fits a bigger SMEM; each access costs more
    more = NativeBackend().evaluate(bigger.bundle.with_data(mapping=found.mapping))
    assert more.levels["SMEM"].energy_pj > base.levels["SMEM"].energy_pj
    assert more.levels["RF"].energy_pj == base.levels["RF"].energy_pj
    assert scaled.energy_source == "scaled" and scaled.area_um2 > 0


def _timeloop_bin() -> Path | None:
    """timeloop-model via PATH, $TIMELOOP_ROOT or ../shared/timeloop (relative to the repository)."""
    found = shutil.which("timeloop-model")
    candidates = [Path(found)] if found else []
    if os.environ.get("TIMELOOP_ROOT"):
        candidates.append(Path(os.environ["TIMELOOP_ROOT"]) / "bin" / "timeloop-model")
    candidates.append(REPO.parent / "shared" / "timeloop" / "bin" / "timeloop-model")
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


@pytest.mark.skipif(_timeloop_bin() is None, reason="no timeloop-model on PATH, $TIMELOOP_ROOT or ../shared/timeloop")
def test_the_generated_ert_loads_into_real_timeloop(models: CachedModels, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from sparsesweep.backends.timeloop import RUNS_ENV, TimeloopBackend
    from sparsesweep.backends.tlrun import BIN_ENV
    from sparsesweep.mapper import search

    monkeypatch.setenv(BIN_ENV, str(_timeloop_bin().parent))
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    point = _point("hwcomponents", models, smem_kib=512)
    found = search(point.bundle, SearchOptions(objective="edp", time_limit_s=5), cache=False)
    bundle = point.bundle.with_data(mapping=found.mapping)
    real = TimeloopBackend(notify=lambda _m: None).evaluate(bundle, tmp_path / "real")
    native = NativeBackend().evaluate(bundle)
    assert real.energy_pj == pytest.approx(native.energy_pj, rel=5e-3)
    assert real.cycles == native.cycles


def test_overlapped_estimates_equal_one_at_a_time(tmp_path: Path) -> None:
    components = [c for kib in (128, 512) for c in arch_components(_arch("dstc", smem_kib=kib))]
    serial = CachedModels(Hwcomponents(), folder=tmp_path / "serial")
    threaded = CachedModels(Hwcomponents(), folder=tmp_path / "threaded")
    threaded.prefetch(components, workers=2)
    assert sum(threaded.calls.values()) == len(set(components))
    for component in components:
        assert threaded.estimate(component) == serial.estimate(component)


def test_a_sweep_with_a_component_no_model_estimates_stops_in_one_line_before_any_point(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from sweep_fakes import fake_registry

    from sparsesweep.sweep.cli import main
    from sparsesweep.sweep.store import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    args = ["--backend", "fake", "--out", str(tmp_path / "out"), "--layers", "fc", "--sparsity", "0,0.5", "-j", "1",
            "--quiet"]
    assert main(args, registry=fake_registry()) == 0
    kept = sorted(p.name for p in (tmp_path / "cache" / "sweep").rglob("*.json"))
    capsys.readouterr()
    assert main([*args, "--set", "dram_type=LPDDR4,GDDR9"], registry=fake_registry()) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "DRAM.data" in err[0] and "gddr9" in err[0] and "fix:" in err[0]
    assert sorted(p.name for p in (tmp_path / "cache" / "sweep").rglob("*.json")) == kept  # nothing lost or run
    assert main([*args, "--set", "dram_type=LPDDR4,GDDR9", "--energy", "pinned"], registry=fake_registry()) == 0


def test_scaled_and_pinned_sweeps_at_the_reference_give_the_same_numbers_under_their_own_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from sparsesweep.backends.base import default_registry
    from sparsesweep.sweep.cli import main
    from sparsesweep.sweep.memprobes import PARAMETERS
    from sparsesweep.sweep.store import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    args = ["--layers", "fc", "--sparsity", "0,0.5", "-j", "1", "--quiet", "--time-limit", "5", "--set", "smem_kib=256"]
    frames = {}
    for source in ("scaled", "pinned"):  # the same cache: each source keeps its own rows
        assert main([*args, "--energy", source, "--out", str(tmp_path / source)], registry=default_registry()) == 0
        frame = pd.read_csv(tmp_path / source / "results.csv").set_index("point")
        frames[source] = frame[~frame["probe"].isin(list(PARAMETERS))]  # memory probes sit at x2, off the reference
    assert frames["scaled"]["energy_source"].str.endswith("(scaled by hwcomponents)").all()
    assert frames["pinned"]["energy_source"].str.endswith("(pinned ERT)").all()
    assert (frames["scaled"]["energy_pj"] == frames["pinned"]["energy_pj"]).all()
    assert frames["scaled"]["area_um2"].gt(0).all()
