"""``sparsesweep compare OUT_A OUT_B``: per-point ratios between two finished sweeps."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..clitools import with_examples
from ..errors import SpecError

HELP = "Compare two sweep output folders: per-point energy and cycle ratios (B / A), and points only one has."
DEFAULT_OUT = "out/compare"
EPILOG = with_examples(
    "Points are matched on their variant, scheme, sides, sparsities and swept parameters (those both sweeps "
    "have). Writes compare.csv (network totals), compare_layers.csv (per layer), compare_only.csv (the points "
    "only one sweep has) and compare.png to --out.",
    ("sparsesweep compare results/ results-rf4k/",
     "sparsesweep compare out/a out/b --out out/a-vs-b"))
POINT_KEYS = ("variant", "scheme", "kind", "sides", "sparsity", "act_sparsity")
METRICS = ("energy_pj", "cycles")
SHOWN = 20  # rows printed; the CSV has all


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="OUT_A", help="the first sweep's output folder (the ratios' denominator)")
    parser.add_argument("b", metavar="OUT_B", help="the second sweep's output folder")
    parser.add_argument("--where", action="append", default=[], metavar="NAME=VALUE",
                        help="compare only rows with this value of a column (repeatable), e.g. --where pe_mesh_x=16 "
                             "when only one sweep varied pe_mesh_x")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default: {DEFAULT_OUT})")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..api import SweepResult

    a, b = SweepResult.load(args.a), SweepResult.load(args.b)
    where = [_condition(text) for text in args.where]
    _check_where(where, {args.a: a.summary, args.b: b.summary})
    sa, sb, ra, rb = (_filtered(frame, where) for frame in (a.summary, b.summary, a.results, b.results))
    keys = point_keys(sa, sb)
    for frame, folder, other in ((sa, args.a, sb), (sb, args.b, sa)):
        if frame.duplicated(keys).any():
            extra = [c for c in _axes(frame) if c not in keys]
            raise SpecError(f"points cannot be matched one to one: it sweeps {', '.join(extra) or 'a column'} and the "
                            "other sweep does not", file=folder,
                            fix=f"pick one value with --where {extra[0] if extra else 'NAME'}=VALUE")
    network, only = compare_frames(sa, sb, keys)
    layers, _ = compare_frames(ra, rb, [*keys, "layer"])
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        network.to_csv(out / "compare.csv", index=False)
        pd.DataFrame([{"only_in": folder, "point": name} for side, folder in (("a", args.a), ("b", args.b))
                      for name in only[side]], columns=["only_in", "point"]).to_csv(out / "compare_only.csv",
                                                                                     index=False)
        layers.to_csv(out / "compare_layers.csv", index=False)
        plot = _plot(network, out / "compare.png", f"{args.b} / {args.a}")
    except OSError as exc:
        raise SpecError(f"cannot write the comparison: {exc.strerror or exc}", file=out, key="--out",
                        fix="choose a writable folder") from None
    _print(network, only, args.a, args.b, keys)
    for note in _setup_notes(a.results, b.results):
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {out / 'compare.csv'}, {out / 'compare_layers.csv'}, {out / 'compare_only.csv'}"
          + (f", {plot}" if plot else ""),
          file=sys.stderr)
    return 0


def point_keys(a: Any, b: Any) -> list[str]:
    """The columns that identify a point in both summaries: the point columns and the swept parameters
    both sweeps have."""
    return [k for k in (*POINT_KEYS, *_axes(a)) if k in a.columns and k in b.columns]


def compare_frames(a: Any, b: Any, keys: list[str]) -> tuple[Any, dict[str, list[str]]]:
    """Rows of ``a`` and ``b`` matched on ``keys``, with ``<metric>_a``, ``<metric>_b`` and
    ``<metric>_ratio`` (b / a), and the points only one of them has (``{"a": [...], "b": [...]}``)."""
    import pandas as pd

    left = _keyed(a, keys)
    right = _keyed(b, keys)
    merged = pd.merge(left, right, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    only = {side: [_name(row, keys) for row in merged[merged["_merge"].eq(which)][keys].itertuples(index=False)]
            for side, which in (("a", "left_only"), ("b", "right_only"))}
    both = merged[merged["_merge"].eq("both")].drop(columns="_merge").reset_index(drop=True)
    for metric in METRICS:
        both[f"{metric}_ratio"] = both[f"{metric}_b"].astype(float) / both[f"{metric}_a"].astype(float)
    return both, only


def _condition(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise SpecError(f"'{text}' is not NAME=VALUE", key="--where", fix="write e.g. --where pe_mesh_x=16")
    return name.strip(), value.strip()


def _check_where(where: list[tuple[str, str]], summaries: dict[str, Any]) -> None:
    """A --where column neither sweep has, or a value that leaves a sweep that has it no point, is an error."""
    for name, value in where:
        having = {folder: frame for folder, frame in summaries.items() if name in frame.columns}
        if not having:
            axes = sorted({c for frame in summaries.values() for c in _axes(frame)})
            raise SpecError(f"neither sweep has a column '{name}'", key="--where",
                            fix=f"use one of {', '.join(axes)}" if axes else "drop --where: neither sweep has a "
                                "swept parameter")
        for folder, frame in having.items():
            if not len(_filtered(frame, [(name, value)])):
                values = ", ".join(sorted(dict.fromkeys(frame[name].astype(str)))[:8])
                raise SpecError(f"no point has {name}={value}", file=folder, key="--where",
                                fix=f"use one of its values: {values}")


def _filtered(frame: Any, where: list[tuple[str, str]]) -> Any:
    for name, value in where:
        if name in frame.columns:
            frame = frame[frame[name].astype(str).isin({value, _as_float_text(value)})]
    return frame


def _as_float_text(value: str) -> str:
    try:
        return str(float(value))
    except ValueError:
        return value


def _axes(frame: Any) -> list[str]:
    """The swept-parameter columns: those between the point columns and ``design``."""
    columns = list(frame.columns)
    if "act_sparsity" not in columns or "design" not in columns:
        return []
    start, end = columns.index("act_sparsity") + 1, columns.index("design")
    return columns[start:end]


def _keyed(frame: Any, keys: list[str]) -> Any:
    cols = [*keys, *(m for m in METRICS if m in frame.columns)]
    out = frame[cols].copy()
    for key in keys:  # NaN never equals NaN in a merge key; an empty act_sparsity is a value here
        out[key] = out[key].astype(object).where(out[key].notna(), "-")
    return out


def _name(row: tuple[Any, ...], keys: list[str]) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in zip(keys, row)
                    if v != "-" and k != "kind")


def _plot(network: Any, path: Path, what: str) -> Path | None:
    if not len(network):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [" ".join(str(v) for v in (r.variant, r.scheme, r.sides, f"{r.sparsity:g}") if v != "-")
              for r in network.itertuples()]
    fig, ax = plt.subplots(figsize=(max(6.4, 0.45 * len(labels) + 2), 4.4))
    xs = np.arange(len(labels))
    for i, metric in enumerate(METRICS):
        ax.bar(xs + (i - 0.5) * 0.4, network[f"{metric}_ratio"], width=0.4, label=metric.split("_")[0])
    ax.axhline(1.0, color="grey", lw=1, ls="--")
    ax.set_xticks(xs, labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(f"ratio {what}")
    ax.set_title("network totals per point (bars: matched points only)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _print(network: Any, only: dict[str, list[str]], a: str, b: str, keys: list[str]) -> None:
    print(f"{len(network)} points in both; ratios are {b} / {a} (network totals)")
    if len(network):
        names = [_name(row, keys) for row in network[keys].itertuples(index=False)]
        width = max(len(n) for n in names)
        for name, row in list(zip(names, network.itertuples()))[:SHOWN]:
            print(f"  {name:<{width}}  energy {row.energy_pj_ratio:8.4f}  cycles {row.cycles_ratio:8.4f}")
        if len(network) > SHOWN:
            print(f"  ... {len(network) - SHOWN} more in compare.csv")
    for side, folder in (("a", a), ("b", b)):
        if only[side]:
            listed = "; ".join(only[side][:5]) + (f"; ... ({len(only[side])} in all)" if len(only[side]) > 5 else "")
            print(f"only in {folder}: {listed}")


def _setup_notes(a: Any, b: Any) -> list[str]:
    notes = []
    for column in ("backend", "objective", "energy_source"):
        if column in a.columns and column in b.columns:
            left, right = set(a[column].dropna()), set(b[column].dropna())
            if left != right:
                notes.append(f"the sweeps differ in {column}: {', '.join(map(str, sorted(left)))} vs "
                             f"{', '.join(map(str, sorted(right)))}")
    return notes
