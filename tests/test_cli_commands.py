"""The command line's manners and its Timeloop-style commands: one-line usage errors, examples in
--help, quiet closed pipes, ``python -m sparsesweep``, ``sparsesweep sweep`` (sweep.py's options),
``sparsesweep layers`` and layer patterns, and merged multi-file inputs with ``--mapping``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_fakes import fake_registry

from sparsesweep.cli import COMMANDS, build_parser, main
from sparsesweep.errors import SpecError
from sparsesweep.specs.workload import load_workload
from sparsesweep.sweep import cli as sweep_cli
from sparsesweep.yamlio import dump_yaml, load_yaml

REPO = Path(__file__).resolve().parents[1]
CASE = "exercises/02.2.1-spMspM"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SPARSESWEEP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


# ---- usage errors, help, pipes -------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--bogus"], ["evaluate"], ["map", "x", "--objective", "speed"], ["nosuch"],
                                  ["layers", "--json", "--workload"], ["sweep", "--jobs", "two"]])
def test_usage_errors_are_one_line_with_exit_code_2(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sparsesweep") and err.count("\n") == 1 and "usage:" not in err
    assert "--help" in err


def test_sweep_py_usage_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as done:
        sweep_cli.main(["--sparsity"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sweep.py: argument --sparsity") and err.count("\n") == 1


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
def test_help_shows_examples(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "examples:\n  sparsesweep " in text or "examples:\n  python sweep.py" in text


def test_a_closed_pipe_ends_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "sparsesweep", "layers", "--json"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away before anything is written, as with `| head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and err == ""


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "sparsesweep", "layers", "fc"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.splitlines()[1].split()[:2] == ["fc", "fc"]


# ---- sparsesweep sweep ---------------------------------------------------------------------------

def _option_strings(parser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}


def test_sparsesweep_sweep_has_every_option_of_sweep_py():
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["sweep"]
    assert _option_strings(sub) == _option_strings(sweep_cli.build_parser(["native", "timeloop"]))


def test_sparsesweep_sweep_runs_the_sweep(tmp_path, monkeypatch, capsys):
    import sparsesweep.commands.sweep as command

    monkeypatch.setattr(command, "default_registry", fake_registry)
    out = tmp_path / "out"
    assert main(["sweep", "--backend", "fake", "--layers", "conv1", "--sparsity", "0,0.5", "-j", "1", "--quiet",
                 "--out", str(out), "--no-break-even", "--no-probes"]) == 0
    assert (out / "results.csv").read_text().count("\n") == 1 + 7  # dense, 2 own dense, 4 designs
    assert "sparsesweep sweep --backend fake" in (out / "report.md").read_text()


# ---- layers --------------------------------------------------------------------------------------

def test_layers_lists_names_shapes_and_repeats(capsys):
    assert main(["layers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    workload = load_workload(REPO / "workloads" / "resnet50.yaml")
    assert [line.split()[0] for line in lines[1:-1]] == workload.names()
    row = dict(zip(lines[0].split(), next(line for line in lines if line.startswith("conv3_2-4_b_3x3")).split()))
    assert (row["R"], row["C"], row["M"], row["repeat"], row["gemm_K"]) == ("3", "128", "128", "3", str(128 * 9))
    assert f"{sum(layer.repeat for layer in workload.layers)} layers with repeats" in lines[-1]


def test_layers_json_and_patterns(capsys):
    assert main(["layers", "conv5_*", "fc", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows][-1] == "fc" and all(r["name"].startswith("conv5_") for r in rows[:-1])
    assert len(rows) == 8 and rows[-1]["gemm_K"] == 2048 and rows[-1]["repeat"] == 1


@pytest.mark.parametrize("names, hint", [
    (["conv3"], "did you mean 'conv3*' (7 layers: conv3_1_a_1x1"),
    (["downsample"], "did you mean '*downsample*' (4 layers"),
    (["conv_1"], "did you mean 'conv1'"),
    (["conv9_*"], "no layer matches 'conv9_*'"),
])
def test_a_bad_layer_name_suggests_sensible_matches(names, hint):
    workload = load_workload(REPO / "workloads" / "resnet50.yaml")
    with pytest.raises(SpecError) as err:
        workload.select(names)
    assert hint in str(err.value) and "sparsesweep layers" in str(err.value)


def test_sweep_layers_take_shell_patterns():
    from sparsesweep.sweep.grid import SweepConfig, build_grid

    grid = build_grid(SweepConfig(sparsities=(0.0,), layers=("conv3_*", "conv3_1_b_3x3", "fc")))
    assert [layer.name for layer in grid.layers] == [*(n for n in grid.workload.names() if n.startswith("conv3_")),
                                                     "fc"]


# ---- evaluate / map: Timeloop's several files merged into one spec ------------------------------

def _split(case: Path, into: Path) -> dict[str, Path]:
    """The case's input.yaml split into three files as a timeloop-model user keeps them."""
    data = load_yaml(case / "input.yaml").data
    into.mkdir()
    files = {"arch.yaml": {k: v for k, v in data.items() if k not in ("problem", "mapping")},
             "problem.yaml": {"problem": data["problem"]}, "mapping.yaml": {"mapping": data["mapping"]}}
    for name, content in files.items():
        (into / name).write_text(dump_yaml(content))
    (into / "ERT.yaml").write_text((case / "ERT.yaml").read_text())
    return {name: into / name for name in [*files, "ERT.yaml"]}


def _json(argv, capsys) -> dict:
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_evaluate_merges_several_files_in_any_order(reference, tmp_path, capsys):
    case = reference / CASE
    whole = _json(["evaluate", str(case), "--json"], capsys)
    files = _split(case, tmp_path / "split")
    order = [files["mapping.yaml"], files["ERT.yaml"], files["problem.yaml"], files["arch.yaml"]]
    assert _json(["evaluate", *map(str, order), "--json"], capsys) == whole
    assert _json(["evaluate", str(files["arch.yaml"]), str(files["problem.yaml"]), "--mapping",
                  str(files["mapping.yaml"]), "--json"], capsys) == whole  # ERT.yaml beside is picked up


def test_mapping_option_replaces_the_inputs_mapping(reference, tmp_path, capsys):
    case = reference / CASE
    data = load_yaml(case / "input.yaml").data
    other = [dict(entry) for entry in data["mapping"]]
    flipped = next(e for e in other if e.get("permutation") and len(e["permutation"]) > 1)
    flipped["permutation"] = flipped["permutation"][::-1]
    (tmp_path / "other.yaml").write_text(dump_yaml({"mapping": other}))
    (tmp_path / "same.yaml").write_text(dump_yaml({"mapping": data["mapping"]}))
    whole = _json(["evaluate", str(case), "--json"], capsys)
    assert _json(["evaluate", str(case / "input.yaml"), "--mapping", str(tmp_path / "same.yaml"), "--json"],
                 capsys) == whole
    assert main(["evaluate", str(case / "input.yaml"), "--mapping", str(tmp_path / "other.yaml")]) == 0


def test_files_that_clash_without_being_whole_specs_are_one_error(reference, tmp_path, capsys):
    files = _split(reference / CASE, tmp_path / "split")
    (tmp_path / "problem2.yaml").write_text(files["problem.yaml"].read_text())
    assert main(["evaluate", str(files["arch.yaml"]), str(files["problem.yaml"]), str(tmp_path / "problem2.yaml")]) == 2
    err = capsys.readouterr().err
    assert "top-level key 'problem' is defined in" in err and err.count("\n") == 1


def test_whole_specs_given_as_files_stay_separate_targets(reference, capsys):
    a, b = reference / CASE / "input.yaml", reference / "exercises/02.2.2-spMspM-tiled/input.yaml"
    out = _json(["evaluate", str(a), str(b), "--json"], capsys)
    assert set(out) == {str(a), str(b)}


def test_map_merges_files_and_names_the_output_after_their_folder(reference, tmp_path, capsys, monkeypatch):
    files = _split(reference / CASE, tmp_path / "split")
    monkeypatch.chdir(tmp_path)
    out = _json(["map", str(files["problem.yaml"]), str(files["arch.yaml"]), "--json", "--time-limit", "20"], capsys)
    assert out["energy_pj"] > 0 and (tmp_path / "out" / "map" / "split" / "mapping.yaml").is_file()
