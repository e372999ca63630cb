"""The ``timeloop`` backend: subprocess orchestration against a fake Timeloop, errors, Docker image.

The fake executables are written by the tests (``fixtures/timeloop/fake_timeloop.py`` behind a
``#!python`` line), so these tests run without Timeloop.  The last tests run real Timeloop and
skip cleanly when no binary is found.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO, reference_root

from sparsesweep.backends import Backend, SearchOptions, default_registry
from sparsesweep.backends.stats import read_stats
from sparsesweep.backends.timeloop import MAPPER, MODEL, RUNS_ENV, TimeloopBackend
from sparsesweep.backends.tlrun import BIN_ENV, ROOT_ENV, SHARED, TIMEOUT_ENV, find_binary
from sparsesweep.errors import BackendError, SpecError
from sparsesweep.inputs import load_bundle
from sparsesweep.yamlio import dump_yaml

FAKE = Path(__file__).parent / "fixtures" / "timeloop" / "fake_timeloop.py"
CASE = "fig15/WD-0.5/M512-K1024-N256-IAD0.27-WD0.5/STC_flexible_dualCompress-RF2x-24-bandwidth-RLE"


@pytest.fixture
def case() -> Path:
    return reference_root() / CASE


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Path) -> Path:
    """A folder with fake timeloop-model / timeloop-mapper, found through SPARSESWEEP_TIMELOOP_BIN."""
    folder = tmp_path / "fake bin"
    folder.mkdir()
    for tool in (MODEL, MAPPER):
        exe = folder / tool
        exe.write_text(f"#!{sys.executable}\n" + FAKE.read_text())
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv(BIN_ENV, str(folder))
    monkeypatch.setenv("FAKE_TIMELOOP_STATS", str(case / "timeloop-model.stats.txt"))
    monkeypatch.setenv("FAKE_TIMELOOP_MODE", "ok")
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    return folder


def _backend(messages: list[str] | None = None, **kwargs: object) -> TimeloopBackend:
    sink = messages if messages is not None else []
    return TimeloopBackend(notify=sink.append, **kwargs)  # type: ignore[arg-type]


def _run_record(folder: Path) -> dict:
    return json.loads((folder / "fake-run.json").read_text())


def _rerun_line(message: str) -> str:
    match = re.search(r"re-run by hand: (.*)\)$", message)
    assert match, message
    return match.group(1)


# -- success -----------------------------------------------------------------------------


def test_evaluate_runs_timeloop_model_on_the_rendered_inputs(
    fake_bin: Path, case: Path, tmp_path: Path
) -> None:
    bundle = load_bundle(case / "input.yaml")
    messages: list[str] = []
    work = tmp_path / "my runs" / "point 1"
    result = _backend(messages).evaluate(bundle, work)

    want = json.loads((case / "expected.json").read_text())
    assert {**result.to_json_dict(), "source": want["source"]} == want
    assert result.source == MODEL
    run = _run_record(work)
    assert run["argv"] == [str(fake_bin / MODEL), "input.yaml", "ERT.yaml"]
    assert Path(run["cwd"]) == work.resolve()
    written = yaml.safe_load(run["inputs"]["input.yaml"])
    assert written == {k: v for k, v in bundle.data.items() if k != "ERT"}
    assert yaml.safe_load(run["inputs"]["ERT.yaml"]) == {"ERT": bundle.data["ERT"]}
    # the folder is kept with logs and the parsed result; its path is reported
    assert (work / f"{MODEL}.stdout.log").read_text().startswith(f"{MODEL}: fake run")
    assert (work / f"{MODEL}.stderr.log").is_file()
    assert json.loads((work / "sparsesweep-result.json").read_text()) == result.to_json_dict()
    assert messages == [f"Timeloop working folder: {work.resolve()}"]


def test_default_working_folder_is_new_kept_and_reported(fake_bin: Path, case: Path, tmp_path: Path) -> None:
    bundle = load_bundle(case / "input.yaml")
    messages: list[str] = []
    backend = _backend(messages)
    first = backend.evaluate(bundle)
    second = backend.evaluate(bundle)
    assert first == second
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2 and all(f.name.startswith("input-") for f in folders)
    assert sorted(messages) == [f"Timeloop working folder: {f}" for f in folders]
    for folder in folders:
        assert (folder / "input.yaml").is_file() and (folder / f"{MODEL}.stats.txt").is_file()


def test_stale_outputs_of_an_earlier_run_are_not_read(fake_bin: Path, case: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    bundle = load_bundle(case / "input.yaml")
    _backend().evaluate(bundle, work)
    monkeypatch.setenv("FAKE_TIMELOOP_MODE", "nostats")
    with pytest.raises(BackendError, match=f"finished but wrote no {MODEL}.stats.txt"):
        _backend().evaluate(bundle, work)
    assert not (work / "sparsesweep-result.json").exists()


def test_rerun_command_in_the_message_repeats_the_run(fake_bin: Path, case: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TIMELOOP_MODE", "fail")
    work = tmp_path / "odd 'folder'"
    with pytest.raises(BackendError) as err:
        _backend().evaluate(load_bundle(case / "input.yaml"), work)
    line = _rerun_line(err.value.one_line())
    command = [str(fake_bin / MODEL), "input.yaml", "ERT.yaml"]
    assert shlex.split(line) == ["cd", str(work.resolve()), "&&", *command]
    monkeypatch.setenv("FAKE_TIMELOOP_MODE", "ok")
    subprocess.run(["sh", "-c", line], check=True, capture_output=True)
    want = json.loads((case / "expected.json").read_text())
    assert read_stats(work / f"{MODEL}.stats.txt").cycles == want["cycles"]


# -- failures ----------------------------------------------------------------------------


def test_nonzero_exit_names_the_log_the_message_and_the_command(fake_bin: Path, case: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TIMELOOP_MODE", "fail")
    work = tmp_path / "w"
    with pytest.raises(BackendError) as err:
        _backend().evaluate(load_bundle(case / "input.yaml"), work)
    message = err.value.one_line()
    assert "\n" not in message
    assert message.startswith(f"{work.resolve() / (MODEL + '.stderr.log')}: {MODEL} failed (exit code 3): ")
    assert "ERROR: fake failure while reading the architecture" in message
    assert (work / "input.yaml").is_file() and (work / "ERT.yaml").is_file()  # inputs kept for the re-run


def test_timeout_stops_the_tool_and_its_children(fake_bin: Path, case: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TIMELOOP_MODE", "sleep")
    work = tmp_path / "w"
    start = time.monotonic()
    with pytest.raises(BackendError) as err:
        _backend(timeout_s=1.5).evaluate(load_bundle(case / "input.yaml"), work)
    assert time.monotonic() - start < 30
    message = err.value.one_line()
    assert f"{MODEL} did not finish within 1.5 s and was stopped" in message
    assert f"{TIMEOUT_ENV}=SECONDS" in message and "re-run by hand: cd " in message
    child = int((work / "fake-child.pid").read_text())
    assert _gone(child), "the tool's child process survived the timeout"


def _gone(pid: int, wait_s: float = 10.0) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_timeout_from_the_environment(fake_bin: Path, case: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TIMELOOP_MODE", "sleep")
    monkeypatch.setenv(TIMEOUT_ENV, "1")
    with pytest.raises(BackendError, match="did not finish within 1 s"):
        _backend().evaluate(load_bundle(case / "input.yaml"), tmp_path / "w")
    monkeypatch.setenv(TIMEOUT_ENV, "soon")
    with pytest.raises(BackendError) as err:
        _backend().evaluate(load_bundle(case / "input.yaml"), tmp_path / "w")
    assert err.value.one_line() == (
        f"{TIMEOUT_ENV}: 'soon' is not a positive number of seconds (fix: e.g. 600)"
    )


def test_garbage_output_is_a_parse_error_with_the_rerun_command(fake_bin: Path, case: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TIMELOOP_MODE", "garbage")
    work = tmp_path / "w"
    with pytest.raises(BackendError) as err:
        _backend().evaluate(load_bundle(case / "input.yaml"), work)
    message = err.value.one_line()
    assert message.startswith(f"{work.resolve() / (MODEL + '.stats.txt')}: not a Timeloop stats report")
    assert shlex.split(_rerun_line(message))[-3:] == [str(fake_bin / MODEL), "input.yaml", "ERT.yaml"]


def test_missing_binary_says_how_to_get_timeloop(tmp_path: Path, case: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BIN_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(ROOT_ENV, raising=False)
    with pytest.raises(BackendError) as err:
        _backend(roots=()).evaluate(load_bundle(case / "input.yaml"), tmp_path / "w")
    message = err.value.one_line()
    assert "\n" not in message
    assert message.startswith(f"{MODEL} not found on PATH, ${ROOT_ENV}, and {BIN_ENV} is not set (fix: ")
    assert "Docker image" in message and "--backend native" in message
    assert not (tmp_path / "w").exists()  # nothing was written before the binary was found


def test_bin_variable_pointing_nowhere(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "bin"
    with pytest.raises(BackendError) as err:
        find_binary(MODEL, {BIN_ENV: str(missing), "PATH": ""})
    assert err.value.one_line() == (
        f"{BIN_ENV}: points at {missing}, which does not exist (fix: set {BIN_ENV} to the folder "
        f"holding {MODEL} (or to {MODEL} itself), unset it to search PATH, or use --backend native)"
    )
    with pytest.raises(BackendError, match=f"^{BIN_ENV}: no executable {MODEL} in {tmp_path} "):
        find_binary(MODEL, {BIN_ENV: str(tmp_path), "PATH": ""})


def test_bin_variable_may_name_a_binary_or_its_folder(fake_bin: Path) -> None:
    assert find_binary(MAPPER, {BIN_ENV: str(fake_bin)}) == fake_bin / MAPPER
    assert find_binary(MAPPER, {BIN_ENV: str(fake_bin / MODEL)}) == fake_bin / MAPPER
    assert find_binary(MODEL, {"PATH": f"/nonexistent{os.pathsep}{fake_bin}"}) == fake_bin / MODEL


def test_then_timeloop_root_then_the_shared_folder_beside_the_repository(fake_bin: Path, tmp_path: Path) -> None:
    def install(folder: Path) -> Path:
        folder.mkdir(parents=True)
        exe = folder / MODEL
        exe.write_bytes((fake_bin / MODEL).read_bytes())
        exe.chmod(0o755)
        return exe

    in_root = install(tmp_path / "tl" / "bin")
    repo = tmp_path / "clone" / "sparsesweep"
    shared = install(repo.joinpath(*SHARED, "bin"))
    assert find_binary(MODEL, {"PATH": "", ROOT_ENV: str(tmp_path / "tl")}, [repo]) == in_root
    assert find_binary(MODEL, {"PATH": ""}, [repo]) == shared
    assert find_binary(MODEL, {"PATH": str(fake_bin), ROOT_ENV: str(tmp_path / "tl")}, [repo]) == fake_bin / MODEL
    with pytest.raises(BackendError, match=f"^{MODEL} not found on PATH, \\${ROOT_ENV} or ../shared/timeloop, "):
        find_binary(MODEL, {"PATH": ""}, [tmp_path / "elsewhere"])


def test_without_a_pinned_ert_accelergy_must_be_available(fake_bin: Path, case: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = load_bundle(case / "input.yaml").with_data(ERT=None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BackendError, match="no ERT is pinned, so timeloop-model needs Accelergy"):
        _backend().evaluate(bundle, tmp_path / "w")
    tools = tmp_path / "tools"
    tools.mkdir()
    accelergy = tools / "accelergy"
    accelergy.write_text("#!/bin/sh\nexit 0\n")
    accelergy.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    _backend().evaluate(bundle, tmp_path / "w")
    run = _run_record(tmp_path / "w")
    assert run["argv"][1:] == ["input.yaml"]  # Timeloop runs Accelergy itself
    assert not (tmp_path / "w" / "ERT.yaml").exists()


def test_working_folder_must_not_be_the_inputs_own_folder(fake_bin: Path, case: Path, tmp_path: Path) -> None:
    own = tmp_path / "case"
    own.mkdir()
    for name in ("input.yaml", "ERT.yaml"):
        (own / name).write_text((case / name).read_text())
    with pytest.raises(BackendError, match="the working folder is the folder of the input files"):
        _backend().evaluate(load_bundle(own / "input.yaml"), own)
    assert not list(own.glob(f"{MODEL}.*"))


# -- search (timeloop-mapper) --------------------------------------------------------------


@pytest.fixture
def fake_map(tmp_path: Path, case: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    mapping = load_bundle(case / "input.yaml").data["mapping"]
    path = tmp_path / "found.map.yaml"
    path.write_text(dump_yaml({"mapping": mapping}))
    monkeypatch.setenv("FAKE_TIMELOOP_MAP", str(path))
    return mapping


@pytest.mark.parametrize(("objective", "metrics"), [("edp", ["edp"]), ("energy", ["energy", "delay"]),
                                                    ("cycles", ["delay", "energy"])])
def test_search_runs_the_mapper_and_reads_its_mapping(fake_bin: Path, fake_map: list, case: Path,
                                                      tmp_path: Path, objective: str, metrics: list) -> None:
    bundle = load_bundle(case / "input.yaml", extra=[case / "constraints.yaml"])
    work = tmp_path / "search"
    options = SearchOptions(objective=objective, time_limit_s=60)  # type: ignore[arg-type]
    found = _backend().search(bundle, options, work)
    assert found.mapping == fake_map
    assert found.result.source == MAPPER
    assert found.result.cycles == json.loads((case / "expected.json").read_text())["cycles"]
    assert found.extra["workdir"] == str(work.resolve()) and found.extra["stopped_at_time_limit"] is False
    run = _run_record(work)
    assert run["argv"] == [str(fake_bin / MAPPER), "input.yaml", "ERT.yaml"]
    written = yaml.safe_load(run["inputs"]["input.yaml"])
    assert "mapping" not in written
    assert written["architecture_constraints"] == bundle.data["architecture_constraints"]
    assert written["mapper"]["optimization-metrics"] == metrics


def test_search_keeps_the_points_own_mapper_settings(fake_bin: Path, fake_map: list, case: Path,
                                                     tmp_path: Path) -> None:
    own = {"optimization_metrics": ["energy"], "timeout": 7}
    bundle = load_bundle(case / "input.yaml").with_data(mapper=own)
    _backend().search(bundle, SearchOptions(), tmp_path / "s")
    written = yaml.safe_load(_run_record(tmp_path / "s")["inputs"]["input.yaml"])
    assert written["mapper"] == {"live-status": False, "optimization_metrics": ["energy"], "timeout": 7}


def test_search_time_limit_interrupts_the_mapper_which_keeps_its_best(
    fake_bin: Path, fake_map: list, case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TIMELOOP_MODE", "interrupt")
    start = time.monotonic()
    bundle = load_bundle(case / "input.yaml")
    found = _backend().search(bundle, SearchOptions(time_limit_s=1.0), tmp_path / "s")
    assert time.monotonic() - start < 30
    assert found.extra["stopped_at_time_limit"] is True
    assert found.mapping == fake_map
    assert "stopped by SIGINT" in (tmp_path / "s" / f"{MAPPER}.stdout.log").read_text()


def test_search_without_a_mapping_file_reports_no_valid_mapping(fake_bin: Path, case: Path,
                                                               tmp_path: Path) -> None:
    with pytest.raises(BackendError) as err:
        _backend().search(load_bundle(case / "input.yaml"), SearchOptions(), tmp_path / "s")
    message = err.value.one_line()
    assert f"{MAPPER} found no valid mapping (it wrote no {MAPPER}.map.yaml, or an empty one)" in message
    assert "re-run by hand: cd " in message


def test_evaluate_without_a_mapping_searches_one(fake_bin: Path, fake_map: list, case: Path,
                                                tmp_path: Path) -> None:
    bundle = load_bundle(case / "input.yaml").with_data(mapping=None)
    result = _backend().evaluate(bundle, tmp_path / "e")
    assert result.source == MAPPER
    assert _run_record(tmp_path / "e")["argv"][0] == str(fake_bin / MAPPER)


# -- selection -------------------------------------------------------------------------------


def test_registry_creates_the_timeloop_backend() -> None:
    registry = default_registry()
    backend = registry.create("timeloop")
    assert isinstance(backend, TimeloopBackend) and isinstance(backend, Backend)
    assert backend.name == "timeloop"
    with pytest.raises(SpecError) as err:
        registry.create("timeloopp")
    assert err.value.one_line() == "--backend: unknown backend 'timeloopp' (fix: did you mean 'timeloop'?)"


# -- Docker image ------------------------------------------------------------------------------


def test_dockerfile_pins_the_official_image_and_installs_the_project() -> None:
    text = (REPO / "Dockerfile").read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", "\n".join(lines), re.M))
    froms = [ln.split()[1] for ln in lines if ln.startswith("FROM ")]
    base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], froms[-1])
    image, _, tag = base.partition(":")
    assert image == "timeloopaccelergy/accelergy-timeloop-infrastructure"
    assert tag and tag != "latest", "the base image must be pinned to an explicit tag"
    assert any(ln.startswith("COPY --from=") and "uv" in ln for ln in lines)  # a pinned uv brings Python 3.12
    assert re.search(r"uv venv .*--python 3\.12", text)
    assert re.search(r"uv pip install .*-e '?/opt/sparsesweep(\[test\])?'?", text)
    copies = [ln.split()[1:-1] for ln in lines if ln.startswith("COPY ") and "--from=" not in ln]
    for sources in copies:
        for src in sources:
            assert (REPO / src).exists(), f"Dockerfile copies missing {src}"
    assert any(ln.startswith("ENV PATH=/opt/venv/bin:") for ln in lines)
    # A non-root run (-u uid:gid) has HOME=/: the caches must live where that user can write.
    env = dict(re.findall(r"\b(SPARSESWEEP_CACHE_DIR|SPARSESWEEP_TIMELOOP_RUNS|HOME|MPLCONFIGDIR)=(\S+)", text))
    assert env["SPARSESWEEP_CACHE_DIR"].startswith("/work/") and env["SPARSESWEEP_TIMELOOP_RUNS"].startswith("/work/")
    assert env["HOME"].startswith("/tmp") and env["MPLCONFIGDIR"].startswith("/tmp")
    assert lines[-1].startswith("CMD ")
    ignore = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignore and ".git" in ignore


def test_readme_documents_the_docker_image() -> None:
    readme = (REPO / "README.md").read_text()
    assert "## Running on real Timeloop (Docker)" in readme
    assert readme.index("## The two commands") < readme.index("## Running on real Timeloop (Docker)")
    assert "docker build -t sparsesweep ." in readme
    assert "--backend timeloop" in readme and BIN_ENV in readme


# -- real Timeloop (skipped cleanly when it is not installed) ------------------------------------


def _real(tool: str) -> Path | None:
    try:
        binary = find_binary(tool)
    except BackendError:
        return None
    return binary


REAL_MODEL = _real(MODEL)
REAL_MAPPER = _real(MAPPER)


@pytest.mark.skipif(REAL_MODEL is None, reason="no timeloop-model binary (use the Docker image or set "
                    f"{BIN_ENV})")
def test_real_timeloop_reproduces_the_reference_and_agrees_with_native(case: Path, tmp_path: Path) -> None:
    bundle = load_bundle(case / "input.yaml")
    got = _backend().evaluate(bundle, tmp_path / "real")
    want = json.loads((case / "expected.json").read_text())
    assert got.cycles == want["cycles"]
    assert got.computes.model_dump() == want["computes"]
    assert got.energy_pj == pytest.approx(want["energy_pj"], rel=1e-6)
    for name, level in want["levels"].items():
        assert got.levels[name].energy_pj == pytest.approx(level["energy_pj"], rel=1e-6, abs=0.01)
    from sparsesweep.backends.native import NativeBackend

    native = NativeBackend().evaluate(bundle, tmp_path / "native")
    assert native.cycles == got.cycles
    assert native.energy_pj == pytest.approx(got.energy_pj, rel=1e-3)


@pytest.mark.skipif(REAL_MODEL is None, reason="no timeloop-model binary (use the Docker image or set "
                    f"{BIN_ENV})")
@pytest.mark.parametrize("scheme, sides", [("dense", "single"), ("structured", "dual"), ("unstructured", "dual")])
def test_a_rendered_resnet_point_runs_on_real_timeloop_as_on_the_native_engine(scheme, sides, tmp_path: Path):
    from sparsesweep.backends.native import NativeBackend
    from sparsesweep.mapper import search
    from sparsesweep.render import render_point
    from sparsesweep.specs import load_arch, load_scheme, load_workload

    repo = Path(__file__).resolve().parents[1]
    spec = load_scheme(repo / "sparse_opt" / f"{scheme}.yaml")
    arch = load_arch(repo / "arch" / ("dstc.yaml" if spec.topology == "dstc" else "stc.yaml"))
    layer = load_workload(repo / "workloads" / "resnet50.yaml").layer("conv3_1_b_3x3")
    point = render_point(arch, layer, spec, sides, 0.0 if scheme == "dense" else 0.5)
    found = search(point.bundle, SearchOptions(objective="edp"), cache=False)
    bundle = point.bundle.with_data(mapping=found.mapping)
    real = _backend().evaluate(bundle, tmp_path / "real")
    native = NativeBackend().evaluate(bundle, tmp_path / "native")
    assert real.cycles == native.cycles
    assert real.computes == native.computes
    assert real.energy_pj == pytest.approx(native.energy_pj, rel=5e-3)


@pytest.mark.skipif(REAL_MAPPER is None or REAL_MODEL is None,
                    reason=f"no timeloop-mapper/timeloop-model (use the Docker image or set {BIN_ENV})")
def test_real_mapper_finds_a_mapping_that_timeloop_model_confirms(case: Path, tmp_path: Path) -> None:
    bundle = load_bundle(case / "input.yaml", extra=[case / "constraints.yaml"])
    found = _backend().search(bundle, SearchOptions(objective="edp", time_limit_s=20), tmp_path / "map")
    assert found.mapping and found.result.energy_pj > 0
    # Timeloop's mapper may write a mapping its own model's constraint check refuses (e.g. no spatial
    # loop at a level with spatial constraints: timeloop-model aborts); the literal check predicts it.
    from sparsesweep.mapper.constraints import parse_constraints
    from sparsesweep.mapper.tlcheck import model_violations
    from sparsesweep.tl import load_spec

    spec = load_spec(bundle.with_data(mapping=found.mapping, mapper=None))
    names = [s.name for s in spec.arch.storage]
    refused = model_violations(parse_constraints(spec), spec.mapping, spec.problem.dims, spec.problem.bounds, names)
    if refused:
        with pytest.raises(BackendError, match="re-run by hand: cd "):
            _backend().evaluate(bundle.with_data(mapping=found.mapping, mapper=None), tmp_path / "refused")
        bundle = bundle.with_data(architecture_constraints=None)
    again = _backend().evaluate(bundle.with_data(mapping=found.mapping, mapper=None), tmp_path / "model")
    assert again.cycles == found.result.cycles
    assert again.energy_pj == pytest.approx(found.result.energy_pj, rel=1e-9, abs=0.01)
