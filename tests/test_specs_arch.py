"""Architecture specs: shipped files, named parameters, overrides, pinned ERTs vs the fig15 ERTs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sparsesweep.errors import SpecError
from sparsesweep.specs import ArchSpec, apply_overrides, load_arch, load_ert, parse_assignment
from sparsesweep.specs.ert import ert_for_arch

REPO = Path(__file__).resolve().parents[1]
FIG15 = "fig15/WD-0.5/M512-K128-N1024-IAD0.56-WD0.5"


@pytest.fixture(scope="module")
def stc():
    return load_arch(REPO / "arch" / "stc.yaml")


@pytest.fixture(scope="module")
def dstc():
    return load_arch(REPO / "arch" / "dstc.yaml")


def test_memory_study_parameters_are_named_with_units():
    names = ArchSpec.parameter_names()
    for name in ("dram_width_bits", "dram_read_bandwidth", "dram_write_bandwidth", "smem_kib", "smem_width_bits",
                 "smem_metadata_kib", "smem_metadata_width_bits", "smem_banks", "smem_read_bandwidth",
                 "smem_write_bandwidth", "cores", "rf_words", "rf_banks", "pes_per_core", "pe_mesh_x", "pe_mesh_y",
                 "lrf_words", "lrf_metadata_bits", "word_bits", "technology"):
        assert name in names
    for name in names:
        assert ArchSpec.model_fields[name].description, name
    bandwidths = [n for n in names if "bandwidth" in n]
    assert all("words/cycle" in ArchSpec.model_fields[n].description for n in bandwidths)


def test_shipped_files_describe_1024_int8_macs(stc, dstc):
    for arch in (stc, dstc):
        assert arch.macs == 1024 and arch.word_bits == 8 and arch.technology == "45nm"
        assert arch.smem_kib == 256 and arch.smem_width_bits == 256  # master-safe 256-bit rows
        assert arch.block_words("SMEM") == 32 and arch.block_words("DRAM") == 8
    assert (stc.topology, dstc.topology) == ("stc", "dstc")


def test_pinned_stc_ert_is_the_fig15_stc_table(stc, reference):
    ref = yaml.safe_load((reference / FIG15 / "STC-RF2x-24-bandwidth" / "ERT.yaml").read_text())["ERT"]
    ert, doc = load_ert(stc.ert_path())
    ours, warnings = ert_for_arch(ert, doc, stc)
    assert warnings == []
    energies = lambda tables: {(t["name"], a["name"]): float(a["energy"]) for t in tables for a in t["actions"]}  # noqa: E731
    assert energies(ours["ERT"]["tables"]) == energies(ref["tables"])


def test_pinned_dstc_ert_halves_only_smem_data_energies(dstc, reference):
    ref = yaml.safe_load((reference / FIG15 / "DSTC-RF2x-24-bandwidth" / "ERT.yaml").read_text())["ERT"]
    ert, doc = load_ert(dstc.ert_path())
    ours, _ = ert_for_arch(ert, doc, dstc)
    level = lambda name: name.rsplit(".", 1)[-1].split("[")[0]  # noqa: E731
    theirs = {(level(t["name"]), a["name"]): float(a["energy"]) for t in ref["tables"] for a in t["actions"]}
    mine = {(level(t["name"]), a["name"]): float(a["energy"]) for t in ours["ERT"]["tables"] for a in t["actions"]}
    assert mine.keys() == theirs.keys()
    for key, value in theirs.items():
        halved = key[0] == "SMEM" and key[1] in ("read", "write", "gated_read", "gated_write")
        assert mine[key] == pytest.approx(value / 2 if halved else value), key


def test_ert_tables_follow_the_core_count(stc):
    eight = apply_overrides(stc, {"cores": "8", "pes_per_core": 64, "pe_mesh_x": 8, "pe_mesh_y": 8})
    ert, doc = load_ert(eight.ert_path())
    ours, _ = ert_for_arch(ert, doc, eight)
    names = {t["name"] for t in ours["ERT"]["tables"]}
    assert "system.SM.Subpartition[0..7].PE[0..63].LRF" in names
    assert eight.level_paths()["MAC"] in names


def test_overrides_take_strings_and_keep_the_file_location(stc):
    new = apply_overrides(stc, {"smem_kib": "128", "smem_metadata_kib": 16, "lrf_metadata_bits": "4",
                                "rf_read_bandwidth": "12.5"})
    assert (new.smem_kib, new.smem_metadata_kib, new.lrf_metadata_bits) == (128, 16, 4)
    assert new.rf_read_bandwidth == 12.5
    assert new.smem_depth == 128 * 8192 // 256 and new.smem_metadata_depth == 16 * 8192 // 64
    assert new.lrf_metadata_depth == 1 and new.lrf_md_width_bits == 4
    assert new.ert_path() == stc.ert_path() and new.source == stc.source
    assert stc.smem_kib == 256  # the original is unchanged
    assert apply_overrides(new, {"rf_read_bandwidth": "none"}).rf_read_bandwidth is None


@pytest.mark.parametrize("overrides, expected", [
    ({"smem_kbi": 1}, "--set smem_kbi: unknown architecture parameter 'smem_kbi' (fix: did you mean 'smem_kib'?)"),
    ({"cores": "many"}, "--set cores: Input should be a valid integer"),
    ({"smem_kib": 0}, "--set smem_kib: Input should be greater than or equal to 1"),
    ({"pe_mesh_x": 8, "pes_per_core": 256}, "--set pes_per_core: pes_per_core is derived from pe_mesh_x and "
                                            "pe_mesh_y in arch 'stc' (here 128, not 256)"),
    ({"smem_width_bits": 12}, "--set smem_width_bits: smem_width_bits is not a multiple of word_bits"),
    ({"topology": "dstc"}, "unknown architecture parameter 'topology'"),
])
def test_bad_overrides_are_one_line_errors(stc, overrides, expected):
    with pytest.raises(SpecError) as exc:
        apply_overrides(stc, overrides)
    assert expected in exc.value.one_line()


def test_parse_assignment():
    assert parse_assignment("smem_kib = 128") == ("smem_kib", "128")
    with pytest.raises(SpecError, match="is not NAME=VALUE"):
        parse_assignment("smem_kib")


def test_arch_file_problems_are_located(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(f"name: a\ntopology: stc\nert: {REPO / 'arch/ert/stc_45nm.yaml'}\nsmem_kib: 1\n"
                    "smem_width_bits: 384\n")
    with pytest.raises(SpecError) as exc:
        load_arch(path)
    assert "a.yaml:4: smem_kib: smem_kib 1 KiB is not a whole number of 384-bit rows" in exc.value.one_line()
