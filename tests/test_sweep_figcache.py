"""Plots kept in the sweep's store (``sweep/figcache.py``): a warm sweep writes the same PNG bytes
without drawing; changed tables, a damaged or forged record and ``--no-cache`` draw again."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_fakes import fake_registry

from sparsesweep.sweep import plots as plots_module
from sparsesweep.sweep.cli import main
from sparsesweep.sweep.figcache import frame_digest
from sparsesweep.sweep.store import CACHE_ENV, record_digest

GRID = ["--backend", "fake", "--layers", "fc", "-j", "1", "--quiet", "--no-break-even", "--no-probes"]


def _sweep(out: Path, *extra: str) -> int:
    return main([*GRID, "--out", str(out), *extra], registry=fake_registry())


def _pngs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.png"))}


def _records(cache: Path) -> list[Path]:
    return sorted((cache / "sweep").rglob("figures/*/*.json"))


class Drawn:
    """Counts the figures drawn (every plot starts with ``pyplot()``)."""

    def __init__(self, monkeypatch):
        self.count, real = 0, plots_module.pyplot

        def counted():
            self.count += 1
            return real()

        monkeypatch.setattr(plots_module, "pyplot", counted)
        import sparsesweep.sweep.designplots as designplots

        monkeypatch.setattr(designplots, "pyplot", counted)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_warm_sweep_writes_the_same_plots_without_drawing(tmp_path, cache, monkeypatch):
    drawn = Drawn(monkeypatch)
    assert _sweep(tmp_path / "a", "--sparsity", "0,0.5", "--set", "smem_kib=128,256") == 0
    first, cold = _pngs(tmp_path / "a"), drawn.count
    assert len(first) >= 7 and cold > 0 and _records(cache)
    assert _sweep(tmp_path / "b", "--sparsity", "0,0.5", "--set", "smem_kib=128,256") == 0  # a fresh folder too
    assert drawn.count == cold and _pngs(tmp_path / "b") == first
    report = (tmp_path / "b" / "report.md").read_text()
    assert all(f"]({name})" in report for name in first if name != "variants_energy.png")


def test_changed_tables_draw_again(tmp_path, cache, monkeypatch):
    drawn = Drawn(monkeypatch)
    assert _sweep(tmp_path / "a", "--sparsity", "0,0.5") == 0
    cold = drawn.count
    assert _sweep(tmp_path / "b", "--sparsity", "0,0.75") == 0
    assert drawn.count == 2 * cold and _pngs(tmp_path / "a") != _pngs(tmp_path / "b")
    assert len(_records(cache)) == 4  # the sweep's plots and the layer plot, for each sweep


@pytest.mark.parametrize("damage", ["truncate", "not a png", "a path outside the folder"])
def test_a_damaged_or_forged_plot_record_is_dropped_with_a_warning_and_drawn_again(tmp_path, cache, damage, capsys,
                                                                                  monkeypatch):
    assert _sweep(tmp_path / "a", "--sparsity", "0,0.5") == 0
    expected = _pngs(tmp_path / "a")
    path = _records(cache)[0]
    data = json.loads(path.read_text())
    if damage == "truncate":
        path.write_text(path.read_text()[:200])
    else:  # consistent edits, re-signed: caught by the check of the files
        name, _ = data["files"][0]
        data["files"][0] = ([name, base64.b64encode(b"not a picture").decode()] if damage == "not a png"
                            else ["../escaped.png", data["files"][0][1]])
        body = {k: v for k, v in data.items() if k not in ("key", "digest")}
        path.write_text(json.dumps({**body, "key": data["key"], "digest": record_digest(body)}))
    capsys.readouterr()
    drawn = Drawn(monkeypatch)
    assert _sweep(tmp_path / "a", "--sparsity", "0,0.5") == 0
    err = capsys.readouterr().err
    assert "warning: dropped 1 damaged plot record(s) and drew the plots again" in err and str(path) in err
    assert drawn.count > 0 and _pngs(tmp_path / "a") == expected
    assert not (tmp_path / "escaped.png").exists()


def test_no_cache_draws_every_plot(tmp_path, cache, monkeypatch):
    drawn = Drawn(monkeypatch)
    assert _sweep(tmp_path / "a", "--sparsity", "0,0.5", "--no-cache") == 0
    cold = drawn.count
    assert _sweep(tmp_path / "a", "--sparsity", "0,0.5", "--no-cache") == 0
    assert drawn.count == 2 * cold > 0 and not _records(cache)


def test_the_table_digest_sees_values_dtypes_names_and_order():
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": ["x", None, "z"], "c": [1, 2, 3]})
    base = frame_digest(frame)
    assert frame_digest(frame.copy()) == base
    changed = [frame.assign(a=[1.0, 2.0, 3.0]), frame.assign(b=["x", "y", "z"]), frame.astype({"c": float}),
               frame.rename(columns={"c": "d"}), frame.iloc[::-1], frame[["b", "a", "c"]], frame.iloc[:2],
               frame.assign(a=[2.0, 1.0, np.nan])]
    digests = [frame_digest(f) for f in changed]
    assert base not in digests and len(set(digests)) == len(digests)
