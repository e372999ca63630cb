"""sweep.py's command line on the fake backend: options, outputs, exit codes, the cache folder,
--no-cache, a Dask scheduler address, and resuming after SIGKILL and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_fakes import CALLS_ENV, fake_registry

from sparsesweep.sweep.cli import main
from sparsesweep.sweep.store import CACHE_ENV

from render_helpers import REPO

FAKES = Path(__file__).resolve().parent / "sweep_fakes.py"
SMALL = ["--layers", "conv1,fc", "--sparsity", "0,0.5,0.75", "-j", "1", "--quiet"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def _sweep(out, *args, registry=None):
    return main(["--backend", "fake", "--out", str(out), *SMALL, *args], registry=registry or fake_registry())


def test_help_lists_every_option(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for option in ("--sparsity", "--act-sparsity", "--schemes", "--sides", "--layers", "--arch", "--workload", "--set",
                   "--backend", "--objective", "--time-limit", "--seed", "--jobs", "--dask", "--out", "--no-cache"):
        assert option in text
    assert "{native,timeloop}" in text and "{energy,cycles,edp}" in text


def test_a_sweep_writes_tables_plots_report_and_point_inputs(tmp_path, cache, capsys):
    out = tmp_path / "out"
    assert _sweep(out, "--set", "smem_kib=128,256", "--set", "lrf_metadata_bits=4,8", "--objective", "energy") == 0
    names = {p.name for p in out.iterdir()}
    plots = {"energy_vs_sparsity.png", "cycles_vs_sparsity.png", "energy_vs_own_dense.png", "cycles_vs_own_dense.png",
             "energy_breakdown.png", "axis_smem_kib.png", "axis_lrf_metadata_bits.png", "layers_energy.png",
             "area_smem_kib.png", "area_lrf_metadata_bits.png"}  # both axes change the design area
    assert {"results.csv", "summary.csv", "report.md", "run.json", "points", ".sparsesweep-out"} | plots == names
    for plot in plots:
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    for text in ("## Provenance", "sparsesweep 0.", "| arch/stc.yaml | arch (base/stc) |", "workloads/resnet50.yaml",
                 "sparse_opt/structured.yaml", "## Per layer", "## Physics bounds", "## Claims", "structured saves ~2x energy", "more register-file metadata reduces energy insignificantly",
                 "**Energy source**", "arch/ert/stc_45nm.yaml", "arch/ert/dstc_45nm.yaml", "arch/dstc.yaml",
                 "objective `energy`", "![axis_smem_kib](axis_smem_kib.png)", "timeloop-model input.yaml ERT.yaml"):
        assert text in report
    results = pd.read_csv(out / "results.csv")
    assert "smem_kib,lrf_metadata_bits" in (out / "results.csv").read_text().splitlines()[0]
    memory = results["probe"].eq("metadata_ram_changes_nothing")  # the one memory parameter not swept, at x2
    grid = results[results["sparsity"].isin([0, 0.5, 0.75]) & ~memory]
    probed = results[results["probe"].notna() & ~memory]  # claim probes: convergence (0.875) and low sparsity (0.2)
    extra = results[~results["sparsity"].isin([0, 0.5, 0.75]) & results["probe"].isna()]  # break-even points
    assert len(grid) == 2 * 11 * 4 and len(extra) and extra["kind"].eq("unstructured").all()
    assert set(probed["sparsity"]) == {0.2, 0.875} and not probed["kind"].eq("dense").any()
    assert memory.sum() == 2 * 4 and set(results.loc[memory, "sparsity"]) == {0.75}
    assert set(results["smem_metadata_kib_factor"]) == {1.0, 2.0}
    for rows in (extra, probed, results[memory]):  # at the reference setting
        assert rows["smem_kib"].eq(256).all() and rows["lrf_metadata_bits"].eq(8).all()
    assert len(list((out / "points").iterdir())) == len(results)
    stats = json.loads((out / "run.json").read_text())
    assert stats["computed"] == len(results) and set(stats["claims"]) >= {"structured_saves_2x", "lrf_metadata_insignificant"}
    assert (cache / "sweep").is_dir()  # $SPARSESWEEP_CACHE_DIR holds the cache
    err = capsys.readouterr().err
    assert f"{len(results)} points (0 cached, {len(results)} computed" in err


def test_failed_points_give_exit_code_2_and_a_one_line_summary_but_every_output(tmp_path, cache, capsys):
    out = tmp_path / "out"
    assert _sweep(out, "--no-probes", registry=fake_registry(fail_layers=("fc",))) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: 11 of 22 points failed (first: fc-") and "report.md" in err[-1]
    report = (out / "report.md").read_text()
    assert "## Failed points (11, 1 causes)" in report and "no valid mapping for <layer> (fake)" in report
    assert "uses the layers that every point in it evaluated; left out at the reference setting: fc." in report
    assert "## Network totals, over the layers every point evaluated" in report
    assert (out / "results.csv").read_text().count(",failed,") == 11


def test_a_sweep_whose_every_point_fails_draws_its_plots_without_a_warning(tmp_path, cache, capsys):
    """Plots of nothing (every point failed), with a swept axis and two design variants: each plot is
    written and says there is nothing to show; no library warning (e.g. an empty legend's) escapes."""
    import warnings

    out = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = _sweep(out, "--layers", "fc", "--set", "smem_kib=128,256", "--energy", "pinned",
                      "--arch", "arch/stc.yaml", "--arch", "big=arch/stc.yaml", registry=fake_registry(fail_layers=("fc",)))
    assert code == 2
    # (ResourceWarnings, which Python does not show, come from the CACTI wrapper's unclosed config file)
    assert [f"{w.category.__name__}: {w.message}" for w in caught if w.category is not ResourceWarning] == []
    assert (out / "energy_breakdown.png").is_file() and (out / "axis_smem_kib.png").is_file()
    assert "warning" not in capsys.readouterr().err.lower()


@pytest.mark.parametrize("args, message", [
    (["--schemes", "structred"], "did you mean 'structured'"),
    (["--set", "smem_kb=128"], "did you mean 'smem_kib'"),
    (["--set", "smem_kib=abc"], "--set smem_kib"),
    (["--sparsity", "0,0.66"], "no N:M pattern"),
    (["--sparsity", "0,x"], "not a number"),
    (["--layers", "conv_1"], "did you mean 'conv1'"),
    (["--jobs", "0"], "--jobs must be >= 1"),
    (["--time-limit", "0"], "--time-limit must be a positive number"),
    (["--out", "/proc/sweep-out"], "cannot write to the output folder"),
])
def test_bad_options_are_one_line_errors_with_exit_code_2(tmp_path, cache, capsys, args, message):
    assert _sweep(tmp_path / "out", *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out" / "results.csv").exists()


def test_an_interrupt_outside_the_points_exits_130(tmp_path, cache, capsys, monkeypatch):
    import sparsesweep.sweep.session as session

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(session, "build_grid", interrupted)
    assert _sweep(tmp_path / "out") == 130 and "run the same command again" in capsys.readouterr().err


def test_the_timeloop_backend_without_timeloop_is_one_error_before_any_work(tmp_path, cache, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("SPARSESWEEP_TIMELOOP_BIN", raising=False)
    monkeypatch.delenv("TIMELOOP_ROOT", raising=False)
    monkeypatch.setattr("sparsesweep.backends.tlrun.repository_roots", lambda: [])  # no ../shared/timeloop
    assert main(["--backend", "timeloop", "--out", str(tmp_path / "out"), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "timeloop-mapper not found" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_repeat_is_cached_and_no_cache_recomputes_without_touching_the_cache(tmp_path, cache, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv(CALLS_ENV, str(calls))
    out = tmp_path / "out"
    assert _sweep(out, "--no-break-even", "--no-probes") == 0 and len(calls.read_text().splitlines()) == 22
    assert _sweep(out, "--no-break-even", "--no-probes") == 0 and len(calls.read_text().splitlines()) == 22  # all cached
    records = sorted(cache.rglob("*.json"))
    assert _sweep(out, "--no-cache", "--no-break-even", "--no-probes") == 0 and len(calls.read_text().splitlines()) == 44
    assert sorted(cache.rglob("*.json")) == records and not (out / ".sweep-journal").exists()
    assert json.loads((out / "run.json").read_text())["computed"] == 22


def test_dask_scheduler_address(tmp_path, cache):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        out = tmp_path / "out"
        assert _sweep(out, "--dask", cluster.scheduler_address) == 0
        assert "Dask scheduler tcp://" in json.loads((out / "run.json").read_text())["executor"]


def test_an_unreachable_dask_scheduler_is_a_one_line_error(tmp_path, cache, capsys):
    assert _sweep(tmp_path / "out", "--dask", "tcp://127.0.0.1:9") == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err and "--dask local" in err and err.count("\n") == 1


# ---- interrupted sweeps resume -----------------------------------------------------------------

RESUME = ["--layers", "conv1,fc,conv2_1_a_1x1", "--sparsity", "0,0.5,0.75", "-j", "2", "--no-break-even", "--no-probes"]


def _start(out: Path, env: dict, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(FAKES), *extra, "--out", str(out), *RESUME], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_records(cache: Path, count: int, proc: subprocess.Popen, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = len(list((cache / "sweep").rglob("results/*/*.json")))
        if done >= count:
            return done
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the sweep made no progress")


def _tables(out: Path) -> tuple[str, str]:
    return (out / "results.csv").read_text(), (out / "summary.csv").read_text()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_sweep_resumes_to_the_results_of_an_uninterrupted_one(tmp_path, sig):
    env = {**os.environ, CACHE_ENV: str(tmp_path / "cache"), CALLS_ENV: str(tmp_path / "calls.txt")}
    # Searches after the 8th hang, so the sweep is still running when the signal comes.
    killed = _start(tmp_path / "out", env, "--fake-delay", "0.05", "--fake-stall-after", "8")
    kept = _wait_for_records(tmp_path / "cache", 6, killed)
    os.killpg(killed.pid, sig)
    _, err = killed.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert killed.returncode == 130 and "run the same command again to resume" in err
    else:
        assert killed.returncode == -signal.SIGKILL
    stored = len(list((tmp_path / "cache" / "sweep").rglob("results/*/*.json")))
    assert stored >= kept
    resumed = _start(tmp_path / "out", env)
    assert resumed.wait(timeout=120) == 0, resumed.communicate()
    stats = json.loads((tmp_path / "out" / "run.json").read_text())
    assert stats["total"] == 33 and stats["cached"] >= stored and stats["computed"] == 33 - stats["cached"]
    fresh_env = {**env, CACHE_ENV: str(tmp_path / "cache2")}
    assert _start(tmp_path / "fresh", fresh_env).wait(timeout=120) == 0
    assert _tables(tmp_path / "out") == _tables(tmp_path / "fresh")


def test_a_claims_suggested_command_adds_its_points_to_this_study(tmp_path, cache):
    """A claim the grid cannot test names a command that keeps this sweep's layers and backend."""
    assert _sweep(tmp_path / "out", "--no-probes") == 0  # with probes, the claim is judged on them
    report = (tmp_path / "out" / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| at extreme sparsity")]
    assert rows and all("`python sweep.py --layers conv1,fc --backend fake --sparsity 0,0.5,0.667,0.75,0.875`" in row
                        for row in rows)
    # every claim row says it was judged on 2 of the workload's 30 layer shapes, not on "all"
    claims = [line for line in report.split("## Claims")[1].split("\n#")[0].splitlines()
              if line.startswith("| ") and not line.startswith("| claim")]
    assert claims and all(" | 2 of 30 (--layers) | " in line for line in claims)


def test_a_suggestion_keeps_the_options_it_sets_itself():
    from sparsesweep.sweep.report_views import with_study

    text = "needs dual points, e.g. `python sweep.py --sparsity 0,0.4 --schemes unstructured --sides dual`; or none"
    carried = with_study(text, "--layers 'conv3_*' --schemes structured_gating,unstructured_gating --backend timeloop")
    assert carried == ("needs dual points, e.g. `python sweep.py --layers 'conv3_*' --backend timeloop --sparsity "
                       "0,0.4 --schemes unstructured --sides dual`; or none")
    assert with_study(text, "") == text
