"""The Python API: ``sparsesweep.evaluate``, ``map``, ``sweep`` and ``load`` return typed results
with DataFrames, agree with the command line, and raise one-line errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sweep_fakes import fake_registry

import sparsesweep
from sparsesweep.cli import main
from sparsesweep.errors import SparsesweepError
from sparsesweep.yamlio import dump_yaml, load_yaml

CASE = "exercises/02.2.1-spMspM"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSESWEEP_CACHE_DIR", str(tmp_path / "cache"))


def test_evaluate_returns_a_result_with_a_frame_and_the_json_dict(reference, capsys):
    case = reference / CASE
    result = sparsesweep.evaluate(case)
    assert main(["evaluate", str(case), "--json"]) == 0
    assert result.to_dict() == json.loads(capsys.readouterr().out)
    frame = result.to_frame()
    assert list(frame["level"]) == list(result.levels)
    assert frame["energy_pj"].sum() == pytest.approx(result.energy_pj)
    assert frame["share"].sum() == pytest.approx(1.0)
    for level, row in frame.set_index("level").iterrows():
        for ds, d in result.levels[level].dataspaces.items():
            assert row[f"energy_pj.{ds}"] == pytest.approx(d.energy_pj)


def test_evaluate_takes_several_files_and_a_mapping(reference, tmp_path):
    case = reference / CASE
    data = load_yaml(case / "input.yaml").data
    (tmp_path / "arch.yaml").write_text(dump_yaml({k: v for k, v in data.items() if k != "mapping"}))
    (tmp_path / "mapping.yaml").write_text(dump_yaml({"mapping": data["mapping"]}))
    whole = sparsesweep.evaluate(case)
    assert sparsesweep.evaluate([tmp_path / "arch.yaml", case / "ERT.yaml", tmp_path / "mapping.yaml"]) == whole
    assert sparsesweep.evaluate(tmp_path / "arch.yaml", ert=case / "ERT.yaml",
                                mapping=tmp_path / "mapping.yaml") == whole


def test_map_returns_the_mapping_its_evaluation_and_the_cli_payload(reference, tmp_path, capsys):
    case = reference / CASE
    found = sparsesweep.map(case, objective="energy", out=tmp_path / "m")
    assert main(["map", str(case), "--objective", "energy", "--json", "--out", str(tmp_path / "c")]) == 0
    cli = json.loads(capsys.readouterr().out)
    ours = found.to_dict()
    assert ours["mapping"] == cli["mapping"] and ours["energy_pj"] == cli["energy_pj"]
    assert found.to_frame()["energy_pj"].sum() == pytest.approx(found.result.energy_pj)
    assert load_yaml(tmp_path / "m" / "mapping.yaml").data["mapping"] == found.mapping
    # the found mapping, evaluated on its own, gives the same numbers
    assert sparsesweep.evaluate(case, mapping=tmp_path / "m" / "mapping.yaml") == found.result


def test_api_errors_are_one_line(reference):
    with pytest.raises(SparsesweepError) as err:
        sparsesweep.evaluate(reference / "no-such-case")
    assert "no such file or folder" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(SparsesweepError, match="time_limit_s must be positive"):
        sparsesweep.map(reference / CASE, time_limit_s=0)
    with pytest.raises(SparsesweepError, match="did you mean 'conv3"):
        sparsesweep.sweep(layers=["conv3"], registry=fake_registry(), backend="fake")


def test_sweep_returns_dataframes_claims_and_the_folder(tmp_path):
    out = tmp_path / "out"
    run = sparsesweep.sweep(layers=["conv1", "fc"], sparsity=[0, 0.5, 0.75], axes={"smem_kib": [128, 256]},
                            backend="fake", registry=fake_registry(), jobs=1, out=out, break_even=False,
                            probes=False)
    assert run.out == out and isinstance(run.results, pd.DataFrame) and isinstance(run.summary, pd.DataFrame)
    assert len(run.results) == 2 * 2 * 11 and len(run.summary) == 2 * 11  # dense, 2 own dense, 8 designs
    pd.testing.assert_frame_equal(run.summary, pd.read_csv(out / "summary.csv"))
    stats = json.loads((out / "run.json").read_text())
    assert run.claims == stats["claims"] and run.stats["total"] == 44 and run.failed == 0
    assert set(run.claims) >= {"structured_saves_2x"}  # each claim: one verdict per side (and normalisation)
    assert all(v in (True, False, None) for sides in run.claims.values() for v in sides.values())
    assert "sparsesweep.sweep(...)" in run.report and out / "energy_vs_sparsity.png" in run.plots
    dense = run.summary[run.summary["kind"].eq("dense")]
    assert (dense["energy_vs_dense"] == 1.0).all()
    again = sparsesweep.load(out)
    pd.testing.assert_frame_equal(again.results, run.results)
    assert again.to_dict()["claims"] == run.claims and len(again.to_dict()["summary"]) == 22


def test_sweep_keywords_match_the_command_line(tmp_path):
    """The same sweep from Python and from the command line gives the same tables."""
    from sparsesweep.sweep.cli import main as sweep_main

    kwargs = dict(layers=["conv2_*"], sparsity=[0, 0.5], sides=["dual"], act_sparsity=[0.25],
                  axes={("smem_kib", "smem_metadata_kib"): [(128, 32), (256, 64)], "lrf_metadata_bits": ["x1", "x2"]},
                  arch={"base": "arch/stc.yaml", "big_rf": "arch/stc_rf4k.yaml"}, objective="energy", seed=3)
    run = sparsesweep.sweep(**kwargs, backend="fake", registry=fake_registry(), jobs=1, out=tmp_path / "api")
    argv = ["--layers", "conv2_*", "--sparsity", "0,0.5", "--sides", "dual", "--act-sparsity", "0.25",
            "--set", "smem_kib,smem_metadata_kib=128:32,256:64", "--set", "lrf_metadata_bits=x1,x2",
            "--arch", "base=arch/stc.yaml", "--arch", "big_rf=arch/stc_rf4k.yaml", "--objective", "energy",
            "--seed", "3", "--backend", "fake", "-j", "1", "--quiet", "--out", str(tmp_path / "cli")]
    assert sweep_main(argv, registry=fake_registry()) == 0
    assert (tmp_path / "cli" / "results.csv").read_text() == (tmp_path / "api" / "results.csv").read_text()
    assert set(run.results["variant"]) == {"base", "big_rf"}


def test_load_of_a_folder_without_a_sweep_is_one_line(tmp_path):
    with pytest.raises(SparsesweepError, match="not a finished sweep's folder"):
        sparsesweep.load(tmp_path)


def test_the_sweep_package_is_the_sweep_function_too():
    import inspect

    import sparsesweep.sweep.cli as sweep_cli  # the package still imports as one

    assert callable(sparsesweep.sweep) and sweep_cli.main
    params = inspect.signature(sparsesweep.sweep).parameters
    assert {"sparsity", "layers", "arch", "axes", "backend", "out", "cache"} <= set(params)


def test_layers_is_the_layers_command_as_a_frame(capsys):
    frame = sparsesweep.layers("conv3_*", "fc")
    assert main(["layers", "conv3_*", "fc", "--json"]) == 0
    assert frame.to_dict("records") == json.loads(capsys.readouterr().out)
    assert len(sparsesweep.layers()) == 30
    with pytest.raises(SparsesweepError, match="did you mean 'conv3\\*'"):
        sparsesweep.layers("conv3")


@pytest.mark.parametrize("call", [
    ("sweep", (), {"sparsity": "0.5"}), ("sweep", (), {"sparsity": [True]}), ("sweep", (), {"sparsity": None}),
    ("sweep", (), {"layers": "fc"}), ("sweep", (), {"layers": []}), ("sweep", (), {"schemes": []}),
    ("sweep", (), {"schemes": "structured"}), ("sweep", (), {"axes": {"smem_kib": 128}}),
    ("sweep", (), {"axes": {5: [1]}}), ("sweep", (), {"arch": 123}), ("sweep", (), {"out": None}),
    ("sweep", (), {"jobs": "2"}), ("sweep", (), {"jobs": True}), ("sweep", (), {"seed": 0.5}),
    ("sweep", (), {"cache": "no"}), ("sweep", (), {"time_limit_s": "3"}), ("sweep", (), {"objective": "fast"}),
    ("sweep", (), {"workload": 7}), ("sweep", (), {"no_such_option": 1}),
    ("evaluate", (5,), {}), ("evaluate", ([None],), {}), ("map", ("x.yaml",), {"objective": "x"}),
    ("map", (5,), {}), ("load", (5,), {}), ("layers", (5,), {}),
], ids=lambda c: f"{c[0]}-{'-'.join(map(str, c[1]))}{'-'.join(f'{k}={v!r}' for k, v in c[2].items())}")
def test_an_argument_of_the_wrong_type_is_one_sparsesweep_error_before_any_work(call, tmp_path):
    """A string for a list, a bool for a number, 'no' for False, [] for 'every layer': each is a one-line
    error naming the argument (never a TypeError deep inside, a string iterated by character, or a
    silently truthy 'no')."""
    name, args, kwargs = call
    kwargs = {"out": str(tmp_path / "out"), **kwargs} if name == "sweep" else kwargs
    with pytest.raises(SparsesweepError) as err:
        getattr(sparsesweep, name)(*args, **kwargs)
    assert len(str(err.value).splitlines()) == 1 and f"{name}(" in str(err.value)
    assert not (tmp_path / "out").exists()
