"""Representation formats against Timeloop's own reports, case by case.

For every (level, dataspace) block of each ``timeloop-model.stats.txt`` in the reference
corpus (and the 2022 ``artifact.timeloop-model.stats.txt`` of the DSTC designs), the
density model name, data tile shape, max utilized data capacity, representation format,
per-rank "Max utilized Repr format storage capacity" and the per-rank format reads / fills /
updates (actual + gated + skipped: SAFs only move them between those lines) are recomputed
from the parsed inputs and the dense nest analysis.  Where no SAF touches the dataspace, the
actual data reads / fills / updates (reduced by the expected density when compressed) and
the average utilized instances (non-empty conditioning) are checked as well.

A count may differ by exactly one where our unrounded value sits within 1e-9 of an integer:
Timeloop's Boost pdf carries ~1e-16 relative noise, so such a ``ceil`` falls either way.
Everything else must match exactly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sparsesweep.engine.formats import MetadataStorage, check_capacity, compressed_accesses, level_capacity
from sparsesweep.engine.nest import analyse
from sparsesweep.engine.representation import analyse_formats
from sparsesweep.inputs import load_bundle
from sparsesweep.tl import load_spec

from conftest import reference_root

RANK_LINE = re.compile(r"^\s+Rank (\d+) \(metadata, payload\): \(\s*(\d+),\s*(\d+)\)")
BLOCK = re.compile(r"^    (\w+)(?: \(Streamed\))?:$")
FIELD = re.compile(r"^        (\S.*?)\s*(?::\s*(.*))?$")
OPS = ("reads", "fills", "updates")


def read_blocks(path: Path) -> dict[tuple[str, str], dict]:
    """(level, dataspace) -> {label: text or {rank: (metadata, payload)}} from a stats file."""
    out: dict[tuple[str, str], dict] = {}
    level = block = label = None
    for line in path.read_text().splitlines():
        if line.startswith("=== "):
            name = line.strip("= ")
            level = None if any(key[0] == name for key in out) else name  # the summary repeats levels
            block = None
            continue
        match = BLOCK.match(line)
        if level and match:
            block = out.setdefault((level, match[1]), {})
            continue
        if block is None:
            continue
        match = RANK_LINE.match(line)
        if match and label:
            block.setdefault(label, {})[int(match[1])] = (int(match[2]), int(match[3]))
            continue
        match = FIELD.match(line)
        if match:
            label = match[1]
            if match[2] is not None:
                block[label] = match[2].strip()
    return out


def stats_cases() -> list[tuple[str, str]]:
    try:
        root = reference_root()
    except RuntimeError:
        return []
    cases = [(str(p.parent.relative_to(root)), p.name) for p in sorted(root.glob("**/timeloop-model.stats.txt"))]
    cases += [(str(p.parent.relative_to(root)), p.name)
              for p in sorted(root.glob("fig15/*/*/DSTC*/artifact.timeloop-model.stats.txt"))]
    return cases


@dataclass
class Outcome:
    compared: int = 0
    blocks: int = 0  # (level, dataspace) blocks compared
    noise: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def check(self, what: str, ours, theirs, exact=None) -> None:
        self.compared += 1
        if ours == theirs:
            return
        if exact is not None and _noise(ours, theirs, exact):
            self.noise.append(f"{what}: ours {ours} vs {theirs}")
            return
        self.wrong.append(f"{what}: ours {ours} vs Timeloop {theirs}")


def _noise(ours, theirs, exact) -> bool:
    """Every differing entry is off by one with an unrounded value at an integer."""
    for o, t, x in zip(_flat(ours), _flat(theirs), _flat(exact)):
        if o != t and not (abs(o - t) == 1 and abs(x - round(x)) <= 1e-9 * max(1.0, abs(x))):
            return False
    return True


def _flat(value) -> list:
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _flat(item)]
    return [value]


def compare_case(folder: Path, stats_name: str) -> Outcome:
    artifact = stats_name.startswith("artifact")
    blocks = read_blocks(folder / stats_name)
    spec = load_spec(load_bundle(folder / "input.yaml"))
    nest = analyse(spec.problem, spec.mapping)
    formats = analyse_formats(spec, flatten_once=artifact)
    names = [s.name for s in spec.arch.storage]
    outcome = Outcome()
    for li, level in enumerate(spec.arch.storage):  # Timeloop ran it, so every tile fits
        check_capacity(level_capacity(MetadataStorage.of(level),
                                      [formats.at(ds.name, li) for ds in spec.problem.dataspaces]))
    for ds, dsf in formats.dataspaces.items():
        for li, tf in enumerate(dsf.tiles):
            block = blocks.get((names[li], ds))
            if tf is None or block is None or "Tile density distribution" not in block:
                continue
            where = f"{names[li]}.{ds}"
            outcome.blocks += 1
            dist = block["Tile density distribution"]
            outcome.check(f"{where} density", tf.density_name, dist.replace("-", "_") if artifact else dist)
            outcome.check(f"{where} tile shape", tf.tile_points, int(block["Data tile shape"]))
            outcome.check(f"{where} data capacity", tf.data_capacity,
                          int(block["Max utilized data storage capacity"]))
            fmt = " ".join(reversed(tf.formats)) if tf.has_metadata else "none"
            outcome.check(f"{where} format", fmt, block["Representation format"])
            if not artifact and not _any_saf(spec, ds):
                _check_density(outcome, where, block, nest.tiles[ds][li], tf)
            if not tf.has_metadata:
                continue
            ranks = block.get("Max utilized Repr format storage capacity", {})
            outcome.check(f"{where} repr capacity", tf.capacity_units,
                          tuple(ranks.get(r) for r in range(len(tf.formats))), tf.capacity_exact)
            if _propagated_saf(spec, li, ds):
                continue
            dense = nest.tiles[ds][li]
            for op in OPS:
                count = int(round(getattr(dense, op)))
                ours = tf.format_accesses(count)
                exact = tuple((md * count / tf.tile_points, pl * count / tf.tile_points)
                              for md, pl in tf.expected_units)
                theirs = _format_total(block, op, len(ours))
                if artifact:  # the 2022 build counts bitmask payloads differently: compare metadata only
                    keep = [f != "b" for f in tf.formats]
                    ours, theirs, exact = (tuple(v if k else (v[0], 0) for v, k in zip(t, keep))
                                           for t in (ours, theirs, exact))
                outcome.check(f"{where} format {op}", ours, theirs, exact)
    return outcome


def _check_density(outcome: Outcome, where: str, block: dict, dense, tf) -> None:
    """Actual data accesses (with metadata, even uncompressed UB/UOP: reduced by the expected density)
    and average instances."""
    for op in OPS:
        count = int(round(getattr(dense, op)))
        ours = compressed_accesses(count, tf.expected_density) if tf.has_metadata else count
        exact = count - count * (1.0 - tf.expected_density) if tf.has_metadata else count
        outcome.check(f"{where} actual {op}", ours, int(block[f"Actual scalar {op} (per-instance)"]), exact)
    average = block.get("Utilized instances (average)")
    if average is not None:  # printed with 2 decimals
        ours = round(dense.instances * tf.instance_scale, 2)
        outcome.check(f"{where} average instances", ours, float(average))


def _any_saf(spec, ds: str) -> bool:
    """Some SAF changes the accesses of ``ds`` (a target of it, or spatial skipping)."""
    for level in spec.arch.storage:
        for saf in spec.sparse.at(level.name).safs:
            if saf.kind == "skipping_spatial" or any(target == ds for target, _ in saf.options):
                return True
    return False


def _format_total(block: dict, op: str, n: int) -> tuple[tuple[int, int], ...]:
    total = [(0, 0)] * n
    for kind in ("Actual", "Gated", "Skipped"):
        ranks = block.get(f"{kind} scalar format {op} (per-instance)")
        if isinstance(ranks, dict):
            total = [(a + ranks[r][0], b + ranks[r][1]) for r, (a, b) in enumerate(total)]
    return tuple(total)


def _propagated_saf(spec, level: int, ds: str) -> bool:
    """An SAF of an outer level on ``ds`` shrinks this level's counts (not only moves them)."""
    for outer in spec.arch.storage[level + 1:]:
        for saf in spec.sparse.at(outer.name).safs:
            if any(target == ds for target, _ in saf.options):
                return True
    return False


CASES = stats_cases()


@pytest.mark.parametrize("case,stats_name", CASES, ids=[f"{c}:{s.split('.')[0]}" for c, s in CASES])
def test_formats_match_timeloop(reference: Path, case: str, stats_name: str) -> None:
    outcome = compare_case(reference / case, stats_name)
    sparse_blocks = [b for b in read_blocks(reference / case / stats_name).values() if "Tile density distribution" in b]
    assert outcome.blocks == len(sparse_blocks)  # every block Timeloop reports was recomputed
    assert not outcome.wrong, "\n".join(outcome.wrong)


def test_corpus_is_covered(reference: Path) -> None:
    folders = {c.split("/")[0] for c, _ in CASES}
    assert folders == {"fig15", "exercises", "generated"}
    assert sum(1 for _, s in CASES if s.startswith("artifact")) == 16
    assert math.isclose(len(CASES), len(list(reference.glob("**/timeloop-model.stats.txt"))) + 16)
