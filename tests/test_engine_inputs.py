"""Input syntaxes the engine accepts, and the evaluate command's behaviour."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sparsesweep import evaluate
from sparsesweep.cli import main
from sparsesweep.errors import SpecError
from sparsesweep.inputs import bundle_from_text

V03 = """
architecture:
  version: 0.3
  subtree:
  - name: system
    attributes: {technology: 45nm}
    local:
    - name: DRAM
      class: DRAM
      attributes: {width: 64, datawidth: 8}
    subtree:
    - name: PE[0..3]
      local:
      - name: Buffer
        class: storage
        subclass: regfile
        attributes: {depth: 64, width: 8, datawidth: 8, meshX: 4}
      - name: MAC
        class: compute
        subclass: intmac
        attributes: {datawidth: 8, meshX: 4}
"""

V04 = """
architecture:
  version: 0.4
  nodes:
  - !Container
    name: system
    attributes: {technology: 45nm}
  - !Component
    name: DRAM
    class: DRAM
    attributes: {width: 64, datawidth: 8}
  - !Container
    name: PE
    spatial: {meshX: 4}
  - !Component
    name: Buffer
    class: storage
    subclass: regfile
    attributes: {depth: 64, width: 8, datawidth: 8}
  - !Component
    name: MAC
    class: compute
    subclass: intmac
    attributes: {datawidth: 8}
"""

REST = """
problem:
  shape:
    name: gemm
    dimensions: [M, N, K]
    {ds_key}:
    - {{name: A, projection: [[[M]], [[K]]]}}
    - {{name: B, projection: [[[N]], [[K]]]}}
    - {{name: Z, projection: [[[M]], [[N]]], {rw_key}: true}}
  instance: {{M: 8, N: 8, K: 8}}
mapping:
- {{target: Buffer, type: temporal, factors: M1 N2 K4, permutation: KNM}}
- {{target: DRAM, type: spatial, factors: M4 N1 K1, permutation: MNK}}
- {{target: DRAM, type: temporal, factors: M2 N4 K2, permutation: KMN}}
ERT:
  version: 0.3
  tables:
  - name: system.DRAM
    actions: [{{name: read, energy: 64}}, {{name: write, energy: 64}}]
  - name: system.PE[0..3].Buffer
    actions: [{{name: read, energy: 1.5}}, {{name: write, energy: 2}}]
  - name: system.PE[0..3].MAC
    actions:
    - {{name: mac_random, arguments: {{width: 8}}, energy: 0.4}}
    - {{name: mac_random, arguments: {{width: 16}}, energy: 0.5}}
"""


def _evaluate(text: str):
    return evaluate(bundle_from_text(text))


def test_v04_nodes_and_v03_tree_give_the_same_result():
    rest = REST.format(ds_key="data_spaces", rw_key="read_write")
    assert _evaluate(V03 + rest) == _evaluate(V04 + rest)


def test_hyphenated_and_underscored_keys_are_equivalent():
    underscored = _evaluate(V03 + REST.format(ds_key="data_spaces", rw_key="read_write"))
    hyphenated = _evaluate(V03 + REST.format(ds_key="data-spaces", rw_key="read-write"))
    assert underscored == hyphenated


def test_quoted_numbers_read_as_timeloop_reads_them():
    """Timeloop's YAML reader ignores quotes around a number ('64' is 64): so does the engine, for
    integers (sizes, dimensions) and reals (energies) alike; a quoted non-integer where an integer is
    expected, or a leading zero (octal to Timeloop), stays an error."""
    plain = V03 + REST.format(ds_key="data_spaces", rw_key="read_write")
    quoted = (plain.replace("depth: 64", "depth: '64'").replace("{M: 8, N: 8, K: 8}", "{M: '8', N: \"8\", K: 8}")
              .replace("energy: 1.5", "energy: '1.5'"))
    assert quoted != plain
    assert _evaluate(quoted) == _evaluate(plain)
    for bad in ("'8.0'", "'08'", "' 8'"):
        with pytest.raises(SpecError, match="problem.instance.M: expected an integer"):
            _evaluate(plain.replace("{M: 8,", f"{{M: {bad},"))


def test_ert_action_with_arguments_takes_the_largest_energy():
    result = _evaluate(V03 + REST.format(ds_key="data_spaces", rw_key="read_write"))
    assert result.levels["MAC"].energy_pj == pytest.approx(result.computes.actual * 0.5)


def test_json_output_has_exactly_the_reference_schema(reference, capsys):
    case = next(reference.glob("fig15/WD-1.0/*/TC-RF2x-24-bandwidth"))
    assert main(["evaluate", str(case), "--json"]) == 0
    ours = json.loads(capsys.readouterr().out)
    ref = json.loads((case / "expected.json").read_text())

    def shape(node):
        if isinstance(node, dict):
            return {k: shape(v) for k, v in node.items() if k != "source"}
        return type(node).__name__ if node is not None else "null"

    assert shape(ours) == shape(ref)


def test_ert_beside_an_input_file_is_used_and_ert_flag_replaces_it(reference, tmp_path, capsys):
    case = next(reference.glob("fig15/WD-1.0/*/TC-RF2x-24-bandwidth"))
    shutil.copy(case / "input.yaml", tmp_path / "input.yaml")
    assert main(["evaluate", str(tmp_path / "input.yaml")]) == 2  # no ERT anywhere
    assert "no energy reference table" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "input.yaml"), "--ert", str(case / "ERT.yaml"), "--json"]) == 0
    with_flag = json.loads(capsys.readouterr().out)
    shutil.copy(case / "ERT.yaml", tmp_path / "ERT.yaml")
    assert main(["evaluate", str(tmp_path / "input.yaml"), "--json"]) == 0
    beside = json.loads(capsys.readouterr().out)
    assert with_flag == beside
    assert beside["energy_pj"] == pytest.approx(json.loads((case / "expected.json").read_text())["energy_pj"],
                                                rel=0.005)


def test_one_bad_target_does_not_lose_the_others(reference, tmp_path, capsys):
    good = next(reference.glob("fig15/WD-1.0/*/TC-RF2x-24-bandwidth"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "input.yaml").write_text("problem: [\n")
    code = main(["evaluate", str(good), str(bad), "--json"])
    out = capsys.readouterr()
    assert code == 2
    results = json.loads(out.out)
    assert list(results) == [str(good)]
    assert "malformed YAML" in out.err and len(out.err.strip().splitlines()) == 1


def test_summary_without_json_names_every_level(reference, capsys):
    case = next(reference.glob("fig15/WD-0.5/*/STC-RF2x-24-bandwidth"))
    assert main(["evaluate", str(case)]) == 0
    text = capsys.readouterr().out
    for level in ("MAC", "LRF", "RF", "SMEM", "DRAM"):
        assert level in text
    assert "computes" in text


def test_folder_of_case_folders_is_walked(reference, tmp_path, capsys):
    for design in ("TC-RF2x-24-bandwidth", "STC-RF2x-24-bandwidth"):
        shutil.copytree(next(reference.glob(f"fig15/WD-0.5/*/{design}")), tmp_path / design)
    assert main(["evaluate", str(tmp_path), "--json"]) == 0
    assert sorted(Path(p).name for p in json.loads(capsys.readouterr().out)) == [
        "STC-RF2x-24-bandwidth", "TC-RF2x-24-bandwidth"]
