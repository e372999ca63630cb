"""The Timeloop stats parser against every stats file of the reference corpus, and on edited copies."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import reference_root

from sparsesweep.backends.stats import parse_stats, parse_stats_report, read_stats
from sparsesweep.errors import BackendError

FIXTURES = Path(__file__).parent / "fixtures" / "timeloop"

# stats file name -> the JSON parse shipped beside it
PAIRS = {
    "timeloop-model.stats.txt": "expected.json",
    "artifact.timeloop-model.stats.txt": "artifact.json",
    "reference.timeloop-model.stats.txt": "reference.json",
}
JSON_ROUNDING_PJ = 0.005  # the JSON files round energies to 0.01 pJ


def _corpus() -> list[Path]:
    root = reference_root()
    return sorted(p for p in root.rglob("*stats.txt") if p.name in PAIRS)


CORPUS = _corpus()
REF = reference_root()


def _assert_same(got: object, want: object, where: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict), where
        assert list(got) == list(want), f"{where}: keys/order"
        for key in want:
            _assert_same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, float):
        assert got == pytest.approx(want, abs=JSON_ROUNDING_PJ), where
    else:
        assert got == want and type(got) is type(want), where


@pytest.mark.parametrize("stats", CORPUS, ids=[str(p.relative_to(REF)) for p in CORPUS])
def test_parser_reproduces_reference_json(stats: Path) -> None:
    want = json.loads((stats.parent / PAIRS[stats.name]).read_text())
    got = read_stats(stats, source=want["source"]).to_json_dict()
    _assert_same(got, want, stats.name)


def test_corpus_covers_every_format_and_pair() -> None:
    counts = {name: sum(1 for p in CORPUS if p.name == name) for name in PAIRS}
    assert all(counts.values()), counts
    # every JSON file of the corpus has a stats file that the test above parses
    jsons = {p for p in REF.rglob("*.json") if p.name in PAIRS.values()}
    assert jsons == {p.parent / PAIRS[p.name] for p in CORPUS}
    texts = [p.read_text() for p in CORPUS]
    assert any(re.search(r"^Utilization: [\d.]+%$", t, re.M) for t in texts)  # master: percentage
    assert any(re.search(r"^Utilization: [\d.]+$", t, re.M) for t in texts)  # 2022 build: fraction
    assert any("fJ/Compute" in t for t in texts) and any("pJ/Compute" in t for t in texts)
    assert any("Computes (total)" in t for t in texts)  # dense-only
    assert any("Skipped Computes (total)" in t for t in texts)  # sparse
    assert any("(Streamed):" in t for t in texts)


def _case(relative: str) -> str:
    return (REF / relative).read_text()


SPARSE_MASTER = "fig15/WD-0.5/M512-K1024-N256-IAD0.27-WD0.5/STC_flexible_dualCompress-RF2x-24-bandwidth-RLE"
OLD_WITH_NETWORKS = "exercises/02.2.1-spMspM/reference.timeloop-model.stats.txt"


def _rewrite_energies(text: str, unit: str, factor: Decimal) -> str:
    """Print every pJ energy line in another unit (exactly)."""

    def convert(match: re.Match[str]) -> str:
        value = Decimal(match.group(2)) / factor
        return f"{match.group(1)}{value} {unit}"

    return re.sub(r"(: )([-\d.]+) pJ$", convert, text, flags=re.M)


def test_energy_units_are_converted_exactly() -> None:
    text = _case(f"{SPARSE_MASTER}/timeloop-model.stats.txt")
    base = parse_stats(text, source="x")
    for unit, factor in (("nJ", Decimal(1000)), ("uJ", Decimal(10**6)), ("fJ", Decimal("0.001"))):
        rewritten = _rewrite_energies(text, unit, factor)
        assert rewritten != text
        assert parse_stats(rewritten, source="x") == base, unit


def test_utilization_fraction_and_percentage_agree() -> None:
    text = _case(f"{SPARSE_MASTER}/timeloop-model.stats.txt")
    percent = re.search(r"^Utilization: ([\d.]+)%$", text, re.M)
    assert percent
    fraction = Decimal(percent.group(1)) / 100
    as_fraction = text.replace(percent.group(0), f"Utilization: {fraction}")
    a = parse_stats_report(text, source="x")
    b = parse_stats_report(as_fraction, source="x")
    assert a.utilization == b.utilization == float(fraction)
    assert a.result == b.result


def _shift_summary(text: str, delta_pj: Decimal) -> str:
    """Reprint the summary 'Energy: X uJ' (and 'Total topology energy') for a total moved by delta_pj."""
    total = Decimal(str(parse_stats(text, source="x").energy_pj)) + delta_pj
    text = re.sub(r"^Energy: [\d.]+ uJ$", f"Energy: {total / 10**6:.2f} uJ", text, flags=re.M)
    topology = f"Total topology energy: {total:.2f} pJ"
    return re.sub(r"^Total topology energy: [\d.]+ pJ$", topology, text, flags=re.M)


def _set_nth(text: str, label: str, n: int, value: str) -> str:
    pattern = re.compile(rf"^(\s+{re.escape(label)}\s+: ).*$", re.M)
    matches = list(pattern.finditer(text))
    m = matches[n]
    return text[: m.start()] + m.group(1) + value + text[m.end() :]


@pytest.mark.parametrize(
    "label", ["Temporal Reduction Energy (total)", "Address Generation Energy (total)"]
)
def test_reduction_and_address_energies_count_for_their_dataspace(label: str) -> None:
    text = _case(f"{SPARSE_MASTER}/timeloop-model.stats.txt")
    base = parse_stats(text, source="x")
    delta = Decimal("12345678.91")
    edited = _set_nth(_shift_summary(text, delta), label, 0, f"{delta} pJ")
    got = parse_stats(edited, source="x")
    first_storage = list(base.levels)[1]
    ds = next(iter(base.levels[first_storage].dataspaces))
    assert got.energy_pj == pytest.approx(base.energy_pj + float(delta), abs=1e-6)
    assert got.levels[first_storage].energy_pj == pytest.approx(
        base.levels[first_storage].energy_pj + float(delta), abs=1e-6
    )
    assert got.levels[first_storage].dataspaces[ds].energy_pj == pytest.approx(
        base.levels[first_storage].dataspaces[ds].energy_pj + float(delta), abs=1e-6
    )


def test_leakage_counts_for_its_level() -> None:
    text = _case(f"{SPARSE_MASTER}/timeloop-model.stats.txt")
    base = parse_stats(text, source="x")
    delta = Decimal("2500000.50")
    edited = _set_nth(_shift_summary(text, delta), "Leakage energy (total)", 1, f"{delta} pJ")
    got = parse_stats(edited, source="x")
    second_storage = list(base.levels)[2]
    assert got.levels[second_storage].energy_pj == pytest.approx(
        base.levels[second_storage].energy_pj + float(delta), abs=1e-6
    )
    assert got.levels[second_storage].dataspaces == base.levels[second_storage].dataspaces


def test_network_energy_is_charged_to_the_outer_level() -> None:
    text = _case(OLD_WITH_NETWORKS)
    base = parse_stats(text, source="x")
    title = re.search(r"^Network 0\n-+\n(\S+) <==> (\S+)$", text, re.M)
    assert title
    outer = title.group(1)
    delta = Decimal("7.25")
    edited = _set_nth(_shift_summary(text, delta), "Spatial Reduction Energy (total)", 0, f"{delta} pJ")
    got = parse_stats(edited, source="x")
    assert got.levels[outer].energy_pj == pytest.approx(base.levels[outer].energy_pj + float(delta))
    assert got.energy_pj == pytest.approx(base.energy_pj + float(delta))
    assert got.levels[outer].dataspaces == base.levels[outer].dataspaces


def test_total_disagreeing_with_summary_is_refused() -> None:
    text = _case(f"{SPARSE_MASTER}/timeloop-model.stats.txt")
    # 50 uJ more in one line, summary unchanged
    edited = _set_nth(text, "Temporal Reduction Energy (total)", 0, "50000000.00 pJ")
    with pytest.raises(BackendError, match="add up to .* differs by more than its rounding"):
        parse_stats(edited, source="x", origin="run/timeloop-model.stats.txt")


def test_summary_rounding_is_tolerated() -> None:
    text = _case(f"{SPARSE_MASTER}/timeloop-model.stats.txt")
    base = parse_stats(text, source="x")
    printed = re.search(r"^Energy: ([\d.]+) uJ$", text, re.M)
    assert printed
    # the summary's last digit moved by less than its half unit: still accepted
    near = Decimal(str(base.energy_pj)) / 10**6
    within = text.replace(printed.group(0), f"Energy: {near:.2f} uJ")
    assert parse_stats(within, source="x") == base


def test_dense_only_computes_give_equal_algorithmic_and_actual() -> None:
    dense = next(p for p in CORPUS if "Computes (total)" in p.read_text())
    text = dense.read_text()
    n = int(re.search(r"Computes \(total\)\s+: (\d+)", text).group(1))
    computes = parse_stats(text, source="x").computes
    assert computes.algorithmic == computes.actual == n
    assert computes.gated == computes.skipped == 0


def test_truncated_report_is_refused() -> None:
    text = _case(f"{SPARSE_MASTER}/timeloop-model.stats.txt")
    with pytest.raises(BackendError, match="incomplete stats report: no summary 'Cycles:' line"):
        parse_stats(text[: len(text) // 2], source="x")


def test_source_defaults_to_the_tool_that_wrote_the_file(tmp_path: Path) -> None:
    stats = tmp_path / "timeloop-mapper.stats.txt"
    stats.write_text(_case(f"{SPARSE_MASTER}/timeloop-model.stats.txt"))
    assert read_stats(stats).source == "timeloop-mapper"


def test_unreadable_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError) as err:
        read_stats(tmp_path / "missing.stats.txt")
    assert "missing.stats.txt: cannot read the stats file" in str(err.value)
    assert "\n" not in str(err.value)


BAD = sorted(FIXTURES.glob("bad_*.stats.txt"))


@pytest.mark.parametrize("bad", BAD, ids=[p.name for p in BAD])
def test_bad_stats_fixtures_give_their_error(bad: Path) -> None:
    expected = bad.with_name(bad.name.replace(".stats.txt", ".error")).read_text().strip()
    with pytest.raises(BackendError) as err:
        read_stats(bad)
    message = err.value.one_line()
    assert message == expected.replace("{path}", str(bad))


def test_there_are_bad_fixtures() -> None:
    assert len(BAD) >= 3
    for bad in BAD:
        assert bad.with_name(bad.name.replace(".stats.txt", ".error")).is_file()


def test_tiny_hand_written_report() -> None:
    report = parse_stats_report((FIXTURES / "tiny.stats.txt").read_text(), source="tiny")
    result = report.result
    assert list(result.levels) == ["MAC", "Buffer"]
    assert result.cycles == 4
    assert (result.computes.algorithmic, result.computes.actual) == (4, 4)
    assert result.levels["MAC"].energy_pj == 2.0 and result.levels["MAC"].dataspaces == {}
    buffer = result.levels["Buffer"]
    assert buffer.energy_pj == 0.25 + 1.5 + 3.5 + 0.25  # leakage + A + Z (+ its temporal reduction)
    assert buffer.dataspaces["Z"].energy_pj == 3.75
    assert buffer.dataspaces["Z"].actual_updates_per_instance == 4
    assert buffer.dataspaces["A"].actual_reads_per_instance == 4
    assert result.energy_pj == 7.5
    assert report.utilization == 1.0 and report.summary_energy_pj == 0.0
