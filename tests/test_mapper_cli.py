"""``sparsesweep map``: outputs, the written mapping, the cache, backends, and the importable API."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from sparsesweep.backends.base import SearchOptions, default_registry
from sparsesweep.cli import main
from sparsesweep.engine import evaluate_spec
from sparsesweep.inputs import bundle_from_text, load_bundle
from sparsesweep.mapper import search
from sparsesweep.mapper.cache import cache_key
from sparsesweep.tl import load_spec
from sparsesweep.yamlio import dump_yaml, load_yaml

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "tests" / "fixtures" / "mapper_small.yaml"
CASE = "fig15/WD-0.5/M512-K128-N1024-IAD0.56-WD0.5/STC-RF2x-24-bandwidth"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SPARSESWEEP_CACHE_DIR", str(folder))
    return folder


def run_json(args: list[str], capsys) -> dict:
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_map_prints_the_evaluation_with_the_mapping_and_writes_a_reusable_mapping_file(reference, tmp_path, capsys):
    case = reference / CASE
    out = run_json(["map", str(case), "--json", "--out", str(tmp_path / "m")], capsys)
    assert {"energy_pj", "cycles", "computes", "levels", "mapping", "search"} <= set(out)
    assert out["search"]["objective"] == "energy" and out["search"]["method"] == "exhaustive"
    written = load_yaml(tmp_path / "m" / "mapping.yaml").data["mapping"]
    assert written == out["mapping"]
    # The written file plugs into the case's own inputs in place of the artifact's mapping.
    bundle = load_bundle(case).with_data(mapping=written)
    assert evaluate_spec(load_spec(bundle)).result.energy_pj == pytest.approx(out["energy_pj"], rel=1e-12)
    expected = json.loads((case / "expected.json").read_text())["energy_pj"]
    assert out["energy_pj"] <= 1.02 * expected


def test_results_are_cached_by_content_and_objective(reference, tmp_path, capsys, cache):
    case = str(reference / CASE)
    first = run_json(["map", case, "--json", "--out", str(tmp_path / "a")], capsys)
    assert not first["search"].get("cached")
    again = run_json(["map", case, "--json", "--out", str(tmp_path / "b")], capsys)
    assert again["search"]["cached"] and again["mapping"] == first["mapping"]
    assert again["energy_pj"] == first["energy_pj"]
    fresh = run_json(["map", case, "--json", "--no-cache", "--out", str(tmp_path / "c")], capsys)
    assert not fresh["search"].get("cached")
    other = run_json(["map", case, "--json", "--objective", "edp", "--out", str(tmp_path / "d")], capsys)
    assert not other["search"].get("cached") and other["search"]["objective"] == "edp"
    files = list(cache.rglob("*.json"))
    assert len(files) == 2
    for f in files:
        f.write_text("{not json")
    broken = run_json(["map", case, "--json", "--out", str(tmp_path / "e")], capsys)
    assert not broken["search"].get("cached") and broken["energy_pj"] == first["energy_pj"]


def test_cache_key_covers_what_changes_the_result():
    bundle = load_bundle(SMALL)
    base = cache_key(bundle, SearchOptions(objective="energy"), "native")
    assert base == cache_key(load_bundle(SMALL), SearchOptions(objective="energy"), "native")
    assert base == cache_key(bundle, SearchOptions(objective="energy", time_limit_s=5), "native")
    assert base == cache_key(bundle.with_data(mapper={"algorithm": "hybrid"}), SearchOptions(objective="energy"),
                             "native")
    changed = [SearchOptions(objective="edp"), SearchOptions(objective="energy", seed=1)]
    assert all(cache_key(bundle, o, "native") != base for o in changed)
    assert cache_key(bundle, SearchOptions(objective="energy"), "timeloop") != base
    data = dict(bundle.data)
    data["problem"] = json.loads(json.dumps(data["problem"]))
    data["problem"]["instance"]["M"] = 8
    assert cache_key(bundle_from_text(dump_yaml(data)), SearchOptions(objective="energy"), "native") != base
    constrained = bundle.with_data(architecture_constraints=[{"target": "GLB", "type": "temporal", "factors": "K=1"}])
    assert cache_key(constrained, SearchOptions(objective="energy"), "native") != base


def test_a_time_limited_result_is_not_reused_for_a_longer_limit(tmp_path):
    bundle = load_bundle(SMALL)
    calls = []

    def run():
        calls.append(1)
        found = search(bundle, SearchOptions(objective="energy"), cache=False)
        return type(found)(mapping=found.mapping, result=found.result, evaluated=found.evaluated,
                           seconds=found.seconds, extra={**found.extra, "time_limited": True})

    from sparsesweep.mapper.cache import cached_search

    for limit, expected_calls in ((5.0, 1), (5.0, 1), (2.0, 1), (10.0, 2)):
        cached_search(bundle, SearchOptions(objective="energy", time_limit_s=limit), "native", run, tmp_path)
        assert len(calls) == expected_calls


@pytest.mark.parametrize("damage", ["edit a number", "foreign record", "other inputs", "negative energy"])
def test_a_tampered_mapper_cache_record_is_dropped_with_a_warning_and_recomputed(tmp_path, capsys, damage):
    """Deliberate edits with the checksum recomputed are caught too: a record must carry what it was
    made for (its inputs' hash, backend, objective, seed, code), and that must be the lookup's."""
    import json

    from sparsesweep.mapper.cache import _hash, cached_search

    bundle = load_bundle(SMALL)
    calls = []

    def run(seed=0):
        calls.append(seed)
        return search(bundle, SearchOptions(objective="energy", seed=seed), cache=False)

    first = cached_search(bundle, SearchOptions(objective="energy"), "native", run, tmp_path)
    cached_search(bundle, SearchOptions(objective="energy", seed=1), "native", lambda: run(1), tmp_path)
    path = tmp_path / f"{cache_key(bundle, SearchOptions(objective='energy'), 'native')}.json"
    other = tmp_path / f"{cache_key(bundle, SearchOptions(objective='energy', seed=1), 'native')}.json"
    data = json.loads(path.read_text())
    if damage == "edit a number":
        data["result"]["energy_pj"] *= 0.5
    elif damage == "negative energy":
        data["result"]["energy_pj"] = -1.0
    elif damage == "other inputs":
        data["for"]["inputs"] = "0" * 64
    else:
        data = {**json.loads(other.read_text()), "key": data["key"]}  # the seed-1 record under the seed-0 key
    if damage != "edit a number":
        data["digest"] = _hash({k: v for k, v in data.items() if k != "digest"})  # a consistent edit
    path.write_text(json.dumps(data))
    capsys.readouterr()
    again = cached_search(bundle, SearchOptions(objective="energy"), "native", run, tmp_path)
    err = capsys.readouterr().err
    assert "dropped a damaged mapper cache record" in err and str(path) in err
    assert calls == [0, 1, 0] and again.result.energy_pj == first.result.energy_pj
    assert not again.extra.get("cached")


def test_several_targets_get_their_own_output_folders(reference, tmp_path, capsys):
    base = reference / "fig15" / "WD-0.5" / "M512-K128-N1024-IAD0.56-WD0.5"
    targets = [str(base / "TC-RF2x-24-bandwidth"), str(base / "STC-RF2x-24-bandwidth")]
    out = run_json(["map", *targets, "--json", "--out", str(tmp_path / "many")], capsys)
    assert set(out) == set(targets)
    for name in ("TC-RF2x-24-bandwidth", "STC-RF2x-24-bandwidth"):
        assert (tmp_path / "many" / name / "mapping.yaml").is_file()


def test_the_objective_defaults_to_the_inputs_mapper_metric(tmp_path, capsys):
    data = load_yaml(SMALL).data
    data["mapper"] = {"optimization_metrics": ["delay", "energy"]}
    path = tmp_path / "point.yaml"
    path.write_text(dump_yaml(data))
    out = run_json(["map", str(path), "--json", "--out", str(tmp_path / "o")], capsys)
    assert out["search"]["objective"] == "cycles"
    out = run_json(["map", str(SMALL), "--json", "--out", str(tmp_path / "p")], capsys)
    assert out["search"]["objective"] == "energy"


def test_text_output_and_bad_options(tmp_path, capsys):
    assert main(["map", str(SMALL), "--out", str(tmp_path / "t")]) == 0
    text = capsys.readouterr().out
    assert "energy" in text and "mapping.yaml" in text and "exhaustive" in text
    assert main(["map", str(SMALL), "--time-limit", "0"]) == 2
    assert main(["map", str(SMALL), "--backend", "timeloopp"]) == 2
    err = capsys.readouterr().err
    assert "--time-limit" in err and "did you mean 'timeloop'" in err and "Traceback" not in err


def test_the_native_backend_and_the_api_agree():
    bundle = load_bundle(SMALL)
    options = SearchOptions(objective="edp", seed=0)
    via_backend = default_registry().create("native").search(bundle, options)
    direct = search(bundle, options, cache=False)
    assert via_backend.mapping == direct.mapping and via_backend.result == direct.result


def test_timeloop_backend_search_through_the_cli(reference, tmp_path, monkeypatch, capsys):
    from sparsesweep.backends.timeloop import MAPPER, MODEL, RUNS_ENV
    from sparsesweep.backends.tlrun import BIN_ENV, TIMEOUT_ENV

    case = reference / CASE
    fake = REPO / "tests" / "fixtures" / "timeloop" / "fake_timeloop.py"
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in (MODEL, MAPPER):
        exe = folder / tool
        exe.write_text(f"#!{sys.executable}\n" + fake.read_text())
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    mapping = tmp_path / "found.map.yaml"
    mapping.write_text(dump_yaml({"mapping": load_yaml(case / "input.yaml").data["mapping"]}))
    for key, value in ((BIN_ENV, folder), ("FAKE_TIMELOOP_STATS", case / "timeloop-model.stats.txt"),
                       ("FAKE_TIMELOOP_MODE", "ok"), ("FAKE_TIMELOOP_MAP", mapping), (RUNS_ENV, tmp_path / "runs")):
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    args = ["map", str(case), "--backend", "timeloop", "--json", "--out", str(tmp_path / "tl")]
    out = run_json(args, capsys)
    expected = json.loads((case / "expected.json").read_text())
    assert out["energy_pj"] == pytest.approx(expected["energy_pj"])
    assert out["mapping"] == load_yaml(mapping).data["mapping"]
    assert run_json(args, capsys)["search"]["cached"]
