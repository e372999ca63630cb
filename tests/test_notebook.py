"""``examples/study.ipynb`` runs from top to bottom (a small two-variant sweep from Python), so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "study.ipynb"


def test_the_example_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("SPARSESWEEP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # stored clean
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert (tmp_path / "out" / "study" / "summary.csv").is_file()
    assert (tmp_path / "out" / "study" / "variants_energy.png").is_file()
    texts = " ".join(str(out.get("data", {}).get("text/plain", "")) for out in outputs)
    assert "big_rf / base" in texts and "structured_saves_2x" in texts
