"""Faults: signals at several moments, a killed worker, a full disk, concurrent sweeps, tampered cache
records.  Each ends with complete, correct outputs on a rerun (equal to a fresh sweep's) or a clear
one-line refusal, and nothing computed is lost.  Sweeps run ``tests/sweep_fakes.py`` (the CLI on the
fake backend) in their own process group, tagged by an environment variable so that the test can
find every process a sweep left behind (its workers) in ``/proc``."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from sweep_fakes import CALLS_ENV

from sparsesweep.sweep import plots as plots_module
from sparsesweep.sweep.cli import main as sweep_main
from sparsesweep.sweep.outdir import MARKER
from sparsesweep.sweep.store import CACHE_ENV, record_digest

REPO = Path(__file__).resolve().parents[1]
FAKES = REPO / "tests" / "sweep_fakes.py"
GRID = ["--layers", "conv1,fc", "--sparsity", "0,0.5", "--quiet"]
TOTAL = 14
TAG = "SPARSESWEEP_FAULT_TEST_TAG"
# The two parallel executors: a local process pool (-j 2) and a Dask LocalCluster of 2 workers.
EXECUTORS = {"pool": (), "dask": ("--dask", "local")}


def _env(tmp_path: Path, cache: str = "cache") -> dict[str, str]:
    return {**os.environ, CACHE_ENV: str(tmp_path / cache), CALLS_ENV: str(tmp_path / "calls.txt"),
            TAG: uuid.uuid4().hex}


def _start(out: Path, env: dict, *args: str, jobs: int = 2) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(FAKES), *args, "--out", str(out), "-j", str(jobs), *GRID],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _records(cache: Path) -> int:
    return len(list((cache / "sweep").rglob("results/*/*.json")))


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the sweep made no progress")


def _tagged(tag: str) -> list[int]:
    """Live processes (not zombies) carrying ``tag`` in their environment."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (TAG + "=" + tag).encode() in (proc / "environ").read_bytes().split(b"\0"):
                if (proc / "stat").read_text().split(")")[-1].split()[0] != "Z":
                    pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _gone(tag: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _tagged(tag):
            return True
        time.sleep(0.1)
    return False


def _tables(out: Path) -> tuple[str, str]:
    return (out / "results.csv").read_text(), (out / "summary.csv").read_text()


def _inproc(out: Path, cache: Path, *args: str, **fake) -> int:
    """The sweep in this process (``-j 1``) on the fake backend, with its own cache."""
    from sweep_fakes import fake_registry

    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(cache)
    try:
        return sweep_main(["--backend", "fake", "-j", "1", "--out", str(out), *GRID, *args],
                          registry=fake_registry(**fake))
    finally:
        if old is None:
            os.environ.pop(CACHE_ENV)
        else:
            os.environ[CACHE_ENV] = old


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> tuple[str, str]:
    """The tables of an uninterrupted sweep with an empty cache."""
    tmp = tmp_path_factory.mktemp("fresh")
    assert _inproc(tmp / "out", tmp / "cache") == 0
    return _tables(tmp / "out")


def _finish(out: Path, cache: Path, fresh: tuple[str, str]) -> dict:
    """Rerun the sweep: it completes with the tables of an uninterrupted one."""
    assert _inproc(out, cache) == 0
    assert _tables(out) == fresh
    stats = json.loads((out / "run.json").read_text())
    assert stats["total"] >= TOTAL and stats["failed"] == 0  # (+ the break-even points the sweep adds)
    return stats


# ---- signals --------------------------------------------------------------------------------------

@pytest.mark.parametrize("after,executor", [(1, "pool"), (5, "pool"), (3, "dask")], ids=["early", "mid", "dask"])
def test_sigterm_to_the_sweep_stops_it_and_its_workers_and_a_rerun_completes(tmp_path, fresh, after, executor):
    """SIGTERM (kill, timeout, batch schedulers) to the sweep process alone, at two moments."""
    env = _env(tmp_path)
    proc = _start(tmp_path / "out", env, "--fake-delay", "0.05", "--fake-stall-after", str(after + 2),
                  *EXECUTORS[executor])
    _wait_for(lambda: _records(tmp_path / "cache") >= after, proc)
    kept = _records(tmp_path / "cache")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
    assert _gone(env[TAG]), "the sweep's workers outlived it"
    stats = _finish(tmp_path / "out", tmp_path / "cache", fresh)
    assert stats["cached"] >= kept


@pytest.mark.parametrize("executor", EXECUTORS)
def test_sigkill_to_the_sweep_alone_leaves_no_workers_behind(tmp_path, fresh, executor):
    env = _env(tmp_path)
    proc = _start(tmp_path / "out", env, "--fake-delay", "0.05", "--fake-stall-after", "5", *EXECUTORS[executor])
    _wait_for(lambda: _records(tmp_path / "cache") >= 3, proc)
    assert len(_tagged(env[TAG])) >= 2  # the sweep and its workers
    proc.kill()  # the sweep process only, not its process group
    proc.communicate(timeout=180)
    assert _gone(env[TAG]), "workers kept running after their sweep was killed"
    _finish(tmp_path / "out", tmp_path / "cache", fresh)


def test_an_interrupt_while_writing_the_outputs_keeps_the_previous_set(tmp_path, monkeypatch):
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert _inproc(out, cache) == 0
    before = _tables(out)
    real = plots_module.write_plots

    def interrupted(*a, **k):
        real(*a, **k)
        raise KeyboardInterrupt  # mid-way: the tables of the new set are written, the report is not

    monkeypatch.setattr(plots_module, "write_plots", interrupted)
    assert _inproc(out, cache, "--set", "smem_kib=128,256") == 130
    assert _tables(out) == before
    assert not list(out.glob(".sparsesweep-staging*"))
    monkeypatch.setattr(plots_module, "write_plots", real)
    assert _inproc(out, cache, "--set", "smem_kib=128,256") == 0
    assert "smem_kib" in _tables(out)[0]


# ---- a killed worker ------------------------------------------------------------------------------

@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_worker_killed_once_is_retried_and_the_sweep_completes(tmp_path, fresh, executor):
    env = _env(tmp_path)
    proc = _start(tmp_path / "out", env, "--fake-die", "fc", "--fake-die-once", str(tmp_path / "died"),
                  *EXECUTORS[executor])
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert (tmp_path / "died").exists() and "Traceback" not in err
    assert _tables(tmp_path / "out") == fresh


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_point_that_always_kills_its_worker_becomes_failed_points_not_a_lost_run(tmp_path, fresh, executor):
    """Every point of a layer kills its worker (in the pool, where a death fails every queued point);
    on Dask, where a death fails only its own task, two points do (a worker restart each time, so fewer
    keep the test short), and whatever a worker process prints (Dask's own teardown tracebacks, say)
    stays out of the sweep's output: the dying worker writes a traceback-like line to its stderr first."""
    env = _env(tmp_path)
    dying = ("fc-dense", "fc-structured-single-s0.5") if executor == "dask" else ("fc",)
    says = ("--fake-die-says", "Traceback (most recent call last): the last words of a worker") if executor == "dask" else ()
    proc = _start(tmp_path / "out", env, "--fake-die", ",".join(dying), *says, *EXECUTORS[executor])
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 2, err  # the summary line and the one-line error, no library logs
    assert "points failed" in err and "worker process" in err
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()[1:]
    failed = {row.split(",")[0] for row in rows if ",failed," in row}
    assert failed == ({row.split(",")[0] for row in rows if row.startswith("fc-")} if dying == ("fc",) else set(dying))
    _finish(tmp_path / "out", tmp_path / "cache", fresh)  # not cached as failures: a rerun without the fault completes


# ---- a full disk ----------------------------------------------------------------------------------

def test_a_full_disk_while_writing_the_outputs_keeps_the_previous_set(tmp_path, monkeypatch, capsys):
    """Simulated: the plots fail with ENOSPC after the new tables are written (see also the real
    small file system below, which needs root to mount)."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert _inproc(out, cache) == 0
    before = _tables(out)
    capsys.readouterr()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plots_module, "write_plots", full)
    assert _inproc(out, cache, "--set", "smem_kib=128,256") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: ") and "No space left on device" in err[0]
    assert "previous outputs are untouched" in err[0]
    assert _tables(out) == before


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def test_a_full_small_file_system_gives_one_line_and_a_rerun_completes(tmp_path, fresh):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "3m"):
        pytest.skip("cannot mount a small tmpfs here (needs root); the simulated full disk test covers it")
    try:
        out = disk / "out"
        assert _inproc(out, tmp_path / "cache") == 0
        before = _tables(out)
        filler = disk / "filler"
        try:  # fill the file system up to the last byte
            with open(filler, "wb") as fh:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
        except OSError:
            pass
        assert _inproc(out, tmp_path / "cache", "--set", "smem_kib=128,256") == 2
        assert _tables(out) == before  # the previous complete set, not a mix
        filler.unlink()
        _finish(out, tmp_path / "cache", fresh)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=10)


# ---- concurrent sweeps ----------------------------------------------------------------------------

def test_a_second_sweep_into_the_same_out_is_refused_while_the_first_runs(tmp_path, fresh):
    env = _env(tmp_path)
    first = _start(tmp_path / "out", env, "--fake-delay", "0.2", jobs=1)
    _wait_for(lambda: _records(tmp_path / "cache") >= 1, first)
    second = _start(tmp_path / "out", {**env, CACHE_ENV: str(tmp_path / "other-cache")}, jobs=1)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2 and err.count("\n") == 1
    assert f"another sweep (pid {first.pid}) is writing to this folder" in err
    assert first.wait(timeout=300) == 0
    assert _tables(tmp_path / "out") == fresh


def test_two_sweeps_sharing_one_cache_both_complete_correctly(tmp_path, fresh):
    env = _env(tmp_path)
    a = _start(tmp_path / "a", env, "--fake-delay", "0.05", jobs=1)
    b = _start(tmp_path / "b", env, "--fake-delay", "0.05", jobs=1)
    assert a.wait(timeout=300) == 0, a.communicate()
    assert b.wait(timeout=300) == 0, b.communicate()
    assert _tables(tmp_path / "a") == fresh == _tables(tmp_path / "b")


# ---- output ownership -----------------------------------------------------------------------------

def test_a_new_sweep_removes_only_what_an_earlier_sweep_wrote(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert _inproc(out, cache, "--set", "smem_kib=128,256") == 0
    assert (out / "axis_smem_kib.png").exists()
    (out / "points" / "mine").mkdir()
    (out / "points" / "mine" / "input.yaml").write_text("my own notes")  # looks like ours, is not
    (out / "my-notes.txt").write_text("keep me")
    assert _inproc(out, cache, "--layers", "fc", "--no-probes") == 0
    assert not (out / "axis_smem_kib.png").exists()  # the earlier sweep's plot of an axis no longer swept
    points = sorted(p.name for p in (out / "points").iterdir())
    assert points == sorted(["mine", *json.loads((out / MARKER).read_text())["points"]])
    assert all(name == "mine" or name.startswith("fc-") for name in points) and len(points) == 8
    assert (out / "my-notes.txt").read_text() == "keep me"


def test_a_sweep_killed_during_the_break_even_rounds_leaves_only_folders_it_recorded(tmp_path, fresh):
    """The break-even points' folders are recorded in the marker before they are written, so a later
    sweep removes them (they are ours), and a user's folder beside them is kept."""
    env, out = _env(tmp_path), tmp_path / "out"
    proc = _start(out, env, "--fake-stall-after", str(TOTAL), jobs=1)  # the first break-even search hangs
    _wait_for(lambda: len(list((out / "points").glob("*"))) > TOTAL, proc)
    proc.kill()
    proc.communicate(timeout=60)
    recorded = set(json.loads((out / MARKER).read_text())["points"])
    written = {p.name for p in (out / "points").iterdir()}
    assert len(written) > TOTAL and written <= recorded
    (out / "points" / "mine").mkdir()
    assert _inproc(out, tmp_path / "cache", "--no-break-even", "--no-probes", "--layers", "fc") == 0
    assert {p.name for p in (out / "points").iterdir()} == {"mine", *json.loads((out / MARKER).read_text())["points"]}
    assert all(p.name == "mine" or p.name.startswith("fc-") for p in (out / "points").iterdir())


# ---- tampered cache records -----------------------------------------------------------------------

def _resign(path: Path, data: dict, key: str) -> None:
    """Write ``data`` as the record of ``key`` with a recomputed checksum (a deliberate, consistent edit)."""
    body = {k: v for k, v in data.items() if k not in ("key", "digest")}
    path.write_text(json.dumps({**body, "key": key, "digest": record_digest(body)}))


@pytest.mark.parametrize("damage", ["edit a number", "truncate", "swap records", "other inputs",
                                    "negative energy", "other search options", "foreign record",
                                    "foreign rendering", "total not the levels' sum", "too few cycles",
                                    "more computes than the problem"])
def test_a_tampered_cache_record_is_dropped_with_a_warning_and_recomputed(tmp_path, fresh, damage, capsys):
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert _inproc(out, cache) == 0
    kind = "specs" if damage == "foreign rendering" else "results"
    records = sorted((cache / "sweep").rglob(f"{kind}/*/*.json"))
    first, second = records[0], records[1]
    data = json.loads(first.read_text())
    key = data["key"]
    if damage == "edit a number":
        data["result"]["energy_pj"] *= 0.5
        first.write_text(json.dumps(data))
    elif damage == "truncate":
        first.write_text(first.read_text()[:100])
    elif damage == "swap records":
        first.write_text(second.read_text())
    elif damage in ("foreign record", "foreign rendering"):  # another point's record, re-keyed and re-signed
        _resign(first, json.loads(second.read_text()), key)
    elif damage == "other search options":  # the same point's outcome under another seed, re-keyed
        assert _inproc(tmp_path / "out2", tmp_path / "cache2", "--seed", "1") == 0
        other = next(json.loads(p.read_text()) for p in (tmp_path / "cache2" / "sweep").rglob("results/*/*.json")
                     if json.loads(p.read_text())["input_hash"] == data["input_hash"])
        assert other["for"]["seed"] == 1
        _resign(first, other, key)
    else:  # consistent edits (the checksum recomputed): caught by the input hash, the physical bounds or
        # the record's internal consistency
        result = data["result"]
        if damage == "other inputs":
            data["input_hash"] = "0" * 64
        elif damage == "negative energy":
            result["energy_pj"] = -1.0
        elif damage == "total not the levels' sum":
            result["energy_pj"] *= 0.5
        elif damage == "too few cycles":  # fewer than actual computes / the arch's 1024 MACs
            result["cycles"] = 0
            assert result["computes"]["actual"] > 0
        else:
            result["computes"]["skipped"] = result["computes"]["algorithmic"]
            assert result["computes"]["actual"] > 0
        _resign(first, data, key)
    capsys.readouterr()
    assert _inproc(out, cache) == 0
    err = capsys.readouterr().err
    assert "warning: dropped 1 damaged cache record(s)" in err and str(first) in err
    assert _tables(out) == fresh
    stats = json.loads((out / "run.json").read_text())
    recomputed = 0 if kind == "specs" else 1  # a re-rendered point finds its own search outcome again
    assert stats["computed"] == recomputed and stats["cached"] == stats["total"] - recomputed


# ---- values only the evaluation shows out of range ------------------------------------------------

def test_a_bandwidth_so_small_that_cycles_overflow_gives_failed_points_with_the_cause(tmp_path, capsys, monkeypatch):
    """1e-30 words/cycle is positive and finite, so the arch accepts it; the cycles it gives (~1e36)
    do not fit a 64-bit counter: every point fails with that cause, and the tables are written."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    code = sweep_main(["--out", str(tmp_path / "out"), "-j", "1", "--quiet", "--layers", "fc", "--sparsity", "0",
                       "--no-break-even", "--no-probes", "--schemes", "structured", "--set", "dram_read_bandwidth=1e-30"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 2 and err[1].startswith("error: ")
    assert "beyond a 64-bit counter" in err[1]
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()[1:]
    assert rows and all(",failed," in row for row in rows)


# ---- odd file-system states -----------------------------------------------------------------------

def test_an_out_folder_in_a_symlink_loop_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    assert _inproc(tmp_path / "loop1", tmp_path / "cache") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--out" in err[0] and "symlink" in err[0].lower()


def test_a_killed_sweeps_temporary_worker_log_is_removed_by_the_next_dask_sweep(tmp_path, monkeypatch):
    from sparsesweep.sweep.executors import LOG_PREFIX, WorkerLog

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = tmp_path / f"{LOG_PREFIX}{int(gone.stdout)}-abc123.log"  # its sweep process has exited
    mine = tmp_path / f"{LOG_PREFIX}{os.getpid()}-def456.log"  # a running sweep's (this process)
    kept = tmp_path / f"{LOG_PREFIX}named-by-someone.log"  # not one of ours
    for path in (orphan, mine, kept):
        path.write_text("")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.delenv("SPARSESWEEP_DASK_WORKER_LOG", raising=False)
    log = WorkerLog()
    assert not orphan.exists() and mine.exists() and kept.exists()
    assert log.path.parent == tmp_path and log.path.name.startswith(f"{LOG_PREFIX}{os.getpid()}-")
    log.remove()
    assert not log.path.exists() and mine.exists()
