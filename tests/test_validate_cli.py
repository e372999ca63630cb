"""The ``validate`` and ``render`` commands through the CLI, including every bad-input fixture.

Each ``tests/fixtures/bad_*.yaml`` carries its own expectation in header comments:
``# cli: <arguments>`` of the ``sparsesweep`` command (``{fixture}`` = the file, ``{tmp}`` = a
scratch output folder, which must stay unwritten) and one or more ``# error: <text>`` lines that must
all appear in the single error line.  Some fixtures are bad files, others a good file with a bad
command line (e.g. ``sweep --seed -5``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from sparsesweep.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = sorted((REPO / "tests" / "fixtures").glob("bad_*.yaml"))


def _expectation(path: Path) -> tuple[str, list[str]]:
    cli, errors = None, []
    for line in path.read_text().splitlines():
        if line.startswith("# cli: "):
            cli = line[len("# cli: "):]
        elif line.startswith("# error: "):
            errors.append(line[len("# error: "):])
    assert cli and errors, f"{path.name} needs '# cli:' and '# error:' header lines"
    return cli, errors


def test_there_is_a_fixture_per_error_kind():
    names = {p.stem for p in FIXTURES}
    for kind in ("malformed_yaml", "unknown_key", "wrong_type", "unknown_layer", "unknown_scheme", "density",
                 "n_gt_m", "duplicate_key", "nm_unexpressible", "yaml_alias_bomb", "arch_bool_number",
                 "tl_zero_bandwidth", "tl_inf_energy", "ert_negative_energy", "arch_name_newline",
                 "sweep_id_collision_sparsity", "sweep_duplicate_scheme_name", "sweep_empty_layers", "sweep_out_root",
                 "sweep_out_foreign", "evaluate_root", "sweep_negative_seed", "sweep_set_missing_ert"):
        assert f"bad_{kind}" in names
    assert len(names) >= 60


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_bad_input_gives_one_located_line_and_exit_2(fixture, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("SPARSESWEEP_CACHE_DIR", str(tmp_path / "cache"))
    cli, expected = _expectation(fixture)
    args = [a.replace("{fixture}", str(fixture.relative_to(REPO))).replace("{tmp}", str(tmp_path / "out"))
            for a in cli.split()]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in captured.err
    for text in expected:
        assert text in lines[0], f"expected {text!r} in {lines[0]!r}"
    assert not (tmp_path / "out").exists(), "nothing may be written for a bad point"


def test_the_installed_entry_point_prints_no_traceback(tmp_path):
    fixture = REPO / "tests" / "fixtures" / "bad_unknown_key.yaml"
    proc = subprocess.run([sys.executable, "-m", "sparsesweep.cli", "validate", str(fixture)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    debug = subprocess.run([sys.executable, "-m", "sparsesweep.cli", "--debug", "validate", str(fixture)],
                           capture_output=True, text=True, cwd=REPO, timeout=120)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_validate_accepts_the_shipped_data_folders(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["validate", "arch", "workloads", "sparse_opt"]) == 0
    out = capsys.readouterr().out.splitlines()
    shipped = [p for d in ("arch", "workloads", "sparse_opt") for p in (REPO / d).rglob("*.yaml")]
    assert len(out) == len(shipped) and all(line.startswith("ok: ") for line in out)
    assert any("workload 'resnet50'" in line and "54 instances" in line for line in out)


def test_validate_reports_every_bad_file_and_still_checks_the_good_ones(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code = main(["validate", "arch/stc.yaml", "tests/fixtures/bad_unknown_key.yaml",
                 "tests/fixtures/bad_density.yaml"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out.startswith("ok: arch/stc.yaml")
    assert len(captured.err.strip().splitlines()) == 2


def test_validate_needs_a_kind_it_can_tell(tmp_path, capsys):
    odd = tmp_path / "odd.yaml"
    odd.write_text("name: odd\nsomething: 1\n")
    assert main(["validate", str(odd)]) == 2
    assert "pass --kind" in capsys.readouterr().err
    assert main(["validate", "--kind", "scheme", str(odd)]) == 2
    assert "missing required key 'kind'" in capsys.readouterr().err


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("command", ["render", "validate"])
def test_help_documents_every_option(command, capsys):
    parser = _subparser(command)
    for action in parser._actions:
        assert action.help, f"{command} {action.option_strings or action.dest} has no help text"
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for action in parser._actions:
        for option in action.option_strings:
            assert option in text


def test_render_writes_the_files_and_prints_their_paths(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    out = tmp_path / "point"
    code = main(["render", "--layer", "conv3_1_b_3x3", "--scheme", "structured", "--sides", "dual",
                 "--sparsity", "0.75", "--set", "smem_kib=128", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in printed) == ["ERT.yaml", "input.yaml"]
    assert all(Path(p).is_file() and Path(p).parent == out for p in printed)
    text = (out / "input.yaml").read_text()
    assert "data_storage_depth: 4096" in text  # 128 KiB at 256 bits per row
    assert "factors: K=64 M=16 N=1" in text  # 2:8 -> 16 * 8 / 2


def test_render_defaults_pick_the_arch_of_the_scheme(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the repository: defaults resolve against it anyway
    assert main(["render", "--layer", "conv1", "--scheme", "unstructured", "--sides", "dual"]) == 0
    printed = capsys.readouterr().out.split()
    written = Path(printed[0])
    assert written.parent == Path("out/render/conv1-unstructured-dual-s0.5")
    assert "name: MAC[0..255]" in written.read_text()  # the DSTC tree


def test_render_reports_padding_and_master_block_size_on_stderr(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code = main(["render", "--layer", "conv1", "--scheme", "structured", "--set", "smem_width_bits=512",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 0
    assert "note: GEMM padded" in err and "K=160" in err  # 3*7*7 = 147 -> multiple of 32
    assert "warning: SMEM block size 64 words" in err
    assert "smem_width_bits=256" in err  # the pinned ERT was derived for 256-bit rows


@pytest.mark.parametrize(("option", "said"), [
    (["--mapper-threads", "0"], "--mapper-threads must be >= 1 (got 0)"),
    (["--mapper-threads", "100000"], "--mapper-threads 100000 is more than 1024 search threads"),
    (["--mapper-timeout", "-3"], "--mapper-timeout must be >= 1 (got -3)"),
    (["--mapper-victory", "-1"], "--mapper-victory must be >= 0 (got -1)"),
    (["--mapper-metrics", "edp,speed"], "unknown mapper metric 'speed'"),
])
def test_render_refuses_bad_mapper_settings_in_one_line(option, said, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code = main(["render", "--layer", "conv1", "--scheme", "structured", "--out", str(tmp_path / "p"), *option])
    err = capsys.readouterr().err
    assert code == 2
    assert said in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()  # nothing written


def test_render_writes_the_mapper_threads_asked_for(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["render", "--layer", "conv1", "--scheme", "structured", "--mapper-threads", "1024",
                 "--out", str(tmp_path)]) == 0
    assert "num_threads: 1024" in (tmp_path / "input.yaml").read_text()
