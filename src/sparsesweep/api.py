"""Importable entry points: ``sparsesweep.evaluate``, ``sparsesweep.map``, ``sparsesweep.sweep``,
``sparsesweep.load``, ``sparsesweep.layers``.

They take the command line's options as typed keyword arguments and return typed results:
:class:`~sparsesweep.result.Result` (``evaluate``), :class:`~sparsesweep.backends.base.SearchResult`
(``map``) and :class:`SweepResult` (``sweep``, ``load``), each with ``to_frame()`` (pandas) and
``to_dict()``.  User errors raise :class:`~sparsesweep.errors.SparsesweepError`, whose message is
the one line the command line prints.  pandas and the sweep machinery load on first use, so
``import sparsesweep`` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backends.base import BackendRegistry, Objective, SearchOptions, SearchResult, default_registry
from .errors import SpecError
from .inputs import SpecBundle, load_bundle
from .result import Result

if TYPE_CHECKING:
    import pandas as pd

Target = str | Path | Sequence[str | Path] | SpecBundle
AxisValues = Sequence[Any]  # values of one parameter, or tuples of values of paired parameters


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "tuple", "Path", "Sequence", "Mapping"}


def _plain(value: Any) -> Any:
    """numpy arrays and scalars as plain lists and numbers."""
    return value.tolist() if hasattr(value, "tolist") and not isinstance(value, (str, Path)) else value


def _argument_name(fn: Any, where: Any) -> str:
    """The name of a parameter from a validation error's first location (positional ones by index)."""
    import inspect

    if not isinstance(where, int):
        return str(where)
    params = list(inspect.signature(fn).parameters.values())
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if where < len(positional):
        return positional[where]
    rest = [p.name for p in params if p.kind == p.VAR_POSITIONAL]
    return f"{rest[0]}[{where - len(positional)}]" if rest else str(where)


def _checked_arguments(fn: Any) -> Any:
    """``fn`` with its keyword arguments checked against its annotations (strictly: no string for a
    list, no bool for a number, no 'no' for False), a mismatch raising the one-line SpecError."""
    import functools

    from pydantic import ConfigDict, ValidationError, validate_call

    @functools.lru_cache(maxsize=1)
    def validator() -> Any:  # built at the first call: importing the package stays fast
        import types

        shim = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
        shim.__kwdefaults__ = fn.__kwdefaults__
        shim.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k != "return"}  # (pandas: lazy)
        return validate_call(config=ConfigDict(strict=True, arbitrary_types_allowed=True))(shim)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        args = tuple(_plain(v) for v in args)
        kwargs = {k: _plain(v) for k, v in kwargs.items()}
        checked = validator()
        try:
            return checked(*args, **kwargs)
        except ValidationError as exc:
            if exc.title != checked.__name__:
                raise  # not about the arguments: from inside the call
            first = exc.errors()[0]
            loc = list(first["loc"]) or ["?"]
            name = _argument_name(fn, loc[0])
            where = ".".join([name, *(str(p) for p in loc[1:] if isinstance(p, int) or (
                isinstance(p, str) and p.isidentifier() and p not in _TYPE_TAGS))])
            raise SpecError(f"{where}: {first['msg']} (got {first['input']!r:.80})", key=f"{fn.__name__}()",
                            fix="see help(sparsesweep." + fn.__name__ + ") for the argument's type") from None

    return wrapper


@_checked_arguments
def evaluate(target: Target, *, ert: str | Path | None = None, mapping: str | Path | None = None,
             backend: str = "native", workdir: str | Path | None = None) -> Result:
    """Evaluate one point: a folder, an input file, several files merged into one spec (as
    ``timeloop-model input.yaml ERT.yaml mapping.yaml``), or a loaded bundle.

    ``ert`` and ``mapping`` are files whose ``ERT:`` / ``mapping:`` replace the inputs' own;
    ``backend`` is ``native`` (default) or ``timeloop``; ``workdir`` keeps the files a backend writes.

    >>> import sparsesweep
    >>> r = sparsesweep.evaluate("results/points/conv1-dense")            # doctest: +SKIP
    >>> r.energy_pj, r.cycles, r.to_frame()[["level", "energy_pj"]]       # doctest: +SKIP
    """
    bundle = _bundle(target, ert, mapping)
    impl = default_registry().create(backend)
    return impl.evaluate(bundle, Path(workdir) if workdir else None)


@_checked_arguments
def map(target: Target, *, objective: Objective | None = None, time_limit_s: float = 30.0,  # noqa: A001
        seed: int = 0, ert: str | Path | None = None, mapping: str | Path | None = None, backend: str = "native",
        cache: bool = True, out: str | Path | None = None, workdir: str | Path | None = None) -> SearchResult:
    """Search a point's mapspace (its ``architecture_constraints``) for the best mapping, as
    ``sparsesweep map`` does, and return it with its evaluation.

    ``objective`` defaults to the inputs' ``mapper: optimization_metrics[0]``, else energy; a
    ``mapping`` (file) is a starting point, not a constraint; ``out`` also writes the mapping as
    ``<out>/mapping.yaml``.  The result has ``mapping``, ``result``, ``to_frame()`` and
    ``to_dict()`` (the ``map --json`` object).

    >>> found = sparsesweep.map(["input.yaml", "ERT.yaml"], objective="edp")  # doctest: +SKIP
    >>> found.result.energy_pj, found.mapping[0], found.to_frame()             # doctest: +SKIP
    """
    from .commands.map import default_objective, search_bundle, write_mapping
    from .errors import SpecError

    if not time_limit_s > 0:
        raise SpecError(f"time_limit_s must be positive (got {time_limit_s})", key="time_limit_s",
                        fix="give the limit in seconds, e.g. 10")
    bundle = _bundle(target, ert, mapping)
    options = SearchOptions(objective=default_objective(objective, bundle), time_limit_s=time_limit_s,  # type: ignore[arg-type]
                            seed=seed, cache=cache)
    found = search_bundle(bundle, options, backend, Path(workdir) if workdir else None)
    if out is not None:
        write_mapping(found, Path(out))
    return found


@dataclass(frozen=True)
class SweepResult:
    """A sweep's outputs: the ``results`` and ``summary`` tables (the CSV files as DataFrames), the
    claim verdicts, the run statistics and the output folder (plots, ``report.md``, ``points/``)."""

    out: Path  # the output folder
    results: pd.DataFrame  # results.csv: one row per layer x point
    summary: pd.DataFrame  # summary.csv: network totals per point, normalised to dense
    claims: dict[str, bool | None]  # claim id -> holds (None: the sweep lacks the points it needs)
    stats: dict[str, Any] = field(default_factory=dict)  # run.json: points cached/computed/failed, times

    @classmethod
    def load(cls, out: str | Path) -> SweepResult:
        """Read a finished sweep's folder (see :func:`load`)."""
        import pandas as pd

        from .errors import SpecError

        folder = Path(out)
        if not folder.is_dir():
            from .fsio import not_a_file

            what = not_a_file(folder) or "is a file"
            what = "is a device, pipe or socket" if what.startswith("is not a regular file") else what
            raise SpecError(f"not a sweep's output folder: {what}", file=folder,
                            fix="point at the --out folder of a sweep that completed")
        try:
            results = pd.read_csv(folder / "results.csv")
            summary = pd.read_csv(folder / "summary.csv")
            stats = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SpecError(f"not a finished sweep's folder ({exc.__class__.__name__}: {exc})", file=folder,
                            fix="point at the --out folder of a sweep that completed") from None
        return cls(out=folder, results=results, summary=summary, claims=dict(stats.get("claims", {})), stats=stats)

    @property
    def report(self) -> str:
        """The text of ``report.md``."""
        return (self.out / "report.md").read_text(encoding="utf-8")

    @property
    def plots(self) -> list[Path]:
        """The PNG plots written into the folder."""
        return sorted(self.out.glob("*.png"))

    @property
    def failed(self) -> int:
        """Points that failed (their rows carry ``status: failed`` and the error)."""
        return int(self.stats.get("failed", 0))

    def to_frame(self) -> pd.DataFrame:
        """The summary table (network totals per point)."""
        return self.summary

    def to_dict(self) -> dict[str, Any]:
        """Folder, claims, statistics and the summary's records."""
        return {"out": str(self.out), "claims": self.claims, "stats": self.stats,
                "summary": json.loads(self.summary.to_json(orient="records"))}


def _act_from_workload(act_sparsity: Sequence[float] | str) -> bool:
    if isinstance(act_sparsity, str):
        if act_sparsity != "workload":
            raise SpecError(f"act_sparsity={act_sparsity!r} is neither numbers nor 'workload'", key="act_sparsity",
                            fix="give e.g. [0.3, 0.5], or 'workload' for each layer's activation_density")
        return True
    return False


@_checked_arguments
def sweep(*, sparsity: Sequence[float] = (0.0, 0.5, 0.667, 0.75), act_sparsity: Sequence[float] | str = (),
          schemes: Sequence[str] | None = None, sides: Sequence[str] = ("single", "dual"),
          layers: Sequence[str] | None = None, arch: Sequence[str | Path] | Mapping[str, str | Path] = (),
          workload: str | Path = "workloads/resnet50.yaml",
          axes: Mapping[str | tuple[str, ...], AxisValues] | Sequence[str] = (),
          backend: str = "native", objective: Objective = "edp", time_limit_s: float = 30.0, seed: int = 0,
          jobs: int | None = None, dask: str | None = None, out: str | Path = "results", cache: bool = True,
          progress: bool = False, energy: str | None = None, registry: BackendRegistry | None = None,
          break_even: bool = True, probes: bool = True) -> SweepResult:
    """Run the sweep of ``sweep.py`` / ``sparsesweep sweep`` (same options, same outputs in ``out``)
    and return its tables as DataFrames.

    The keywords are the command line's options: ``sparsity`` (``--sparsity``; 0 = the dense
    baseline, which always runs), ``act_sparsity`` (an axis crossed with ``sparsity``, or ``"workload"``
    for each layer's ``activation_density``), ``schemes`` (default: the backend's study
    schemes), ``sides``, ``layers`` (names or shell-style patterns such as ``"conv3_*"``), ``arch``
    (files, or ``{label: file}`` for design variants), ``workload``, ``axes`` (``--set``: a mapping
    ``{"smem_kib": [128, 256]}``, multiples as ``["x0.5", "x1"]``, paired parameters as
    ``{("smem_kib", "smem_metadata_kib"): [(128, 32), (256, 64)]}``, or the command line's
    ``"NAME=V,V"`` texts), ``backend``, ``objective``, ``time_limit_s``, ``seed``, ``jobs`` (default:
    the cores available), ``dask``, ``out``, ``cache`` (False = ``--no-cache``), ``progress`` and
    ``energy`` (``--energy``: pinned, hwcomponents or scaled; default: scaled when an axis changes a
    size, width or the technology, else pinned), ``break_even`` (False = ``--no-break-even``),
    ``probes`` (False = ``--no-probes``);
    ``registry`` holds the backends (default: native and timeloop).

    Bad options raise :class:`~sparsesweep.errors.SparsesweepError` before any work; points that
    fail are rows with ``status == "failed"`` (``SweepResult.failed`` counts them).

    >>> import sparsesweep
    >>> run = sparsesweep.sweep(layers=["conv1", "fc"], sparsity=[0, 0.5, 0.75], out="out/small")  # doctest: +SKIP
    >>> run.summary[["design", "sides", "sparsity", "energy_vs_dense"]]                            # doctest: +SKIP
    >>> run.claims["structured_saves_2x"]                                                          # doctest: +SKIP
    """
    from .sweep.grid import SweepConfig, default_schemes, parse_axis
    from .sweep.session import SweepOptions, default_jobs, execute

    for name, given in (("layers", layers), ("schemes", schemes)):
        if given is not None and not len(given):
            raise SpecError(f"{name}=[] selects nothing", key=f"sweep({name}=...)",
                            fix=f"give names or patterns, or leave {name} out (None) for the default")

    config = SweepConfig(
        sparsities=tuple(float(s) for s in sparsity),
        act_sparsities=() if isinstance(act_sparsity, str) else tuple(float(s) for s in act_sparsity),
        act_from_workload=_act_from_workload(act_sparsity),
        schemes=tuple(schemes) if schemes is not None else default_schemes(backend),
        sides=tuple(sides),  # type: ignore[arg-type]
        layers=tuple(layers) if layers is not None else None,
        archs=tuple(_arch_args(arch)), workload=str(workload),
        axes=tuple(parse_axis(text) for text in _axis_args(axes)))
    options = SweepOptions(config=config, backend=backend, objective=objective, time_limit_s=time_limit_s,
                           seed=seed, jobs=jobs if jobs is not None else default_jobs(), dask=dask, out=Path(out),
                           cache=cache, progress=progress, energy=energy, break_even=break_even,
                           probes=probes)
    done = execute(options, registry or default_registry(), "sparsesweep.sweep(...)")
    return SweepResult.load(done.out)


@_checked_arguments
def load(out: str | Path) -> SweepResult:
    """The tables, claims and statistics of a finished sweep's ``--out`` folder.

    >>> run = sparsesweep.load("results")                                         # doctest: +SKIP
    >>> run.results.query("layer == 'conv1'")[["point", "energy_pj", "cycles"]]  # doctest: +SKIP
    """
    return SweepResult.load(out)


@_checked_arguments
def layers(*patterns: str, workload: str | Path = "workloads/resnet50.yaml") -> pd.DataFrame:
    """The layers of a workload as a DataFrame (what ``sparsesweep layers`` prints): name, type,
    ``R S P Q C M N``, stride, the GEMM view (unpadded), MACs and repeat count; ``patterns`` (names
    or shell-style patterns) pick some.

    >>> sparsesweep.layers("conv3_*")[["name", "gemm_M", "gemm_N", "gemm_K", "repeat"]]  # doctest: +SKIP
    """
    import pandas as pd

    from .commands.layers import layer_row
    from .specs.paths import resolve_named
    from .specs.workload import load_workload

    path = resolve_named(str(workload), "workloads", "workload")
    loaded = load_workload(path)
    chosen = loaded.select(patterns, source=path, key="patterns") if patterns else list(loaded.layers)
    return pd.DataFrame([layer_row(layer) for layer in chosen])


# ---- internals ---------------------------------------------------------------------------------

def _bundle(target: Target, ert: str | Path | None, mapping: str | Path | None) -> SpecBundle:
    extra = [Path(f) for f in (ert, mapping) if f]
    if isinstance(target, SpecBundle):
        if extra:
            from .yamlio import load_yaml

            updates = {k: v for f in extra for k, v in (load_yaml(f).data or {}).items()}
            return target.with_data(**updates)
        return target
    return load_bundle(target, extra)


def _arch_args(arch: Sequence[str | Path] | Mapping[str, str | Path]) -> list[str]:
    """Arch files as the command line's ``--arch`` values (``LABEL=FILE`` for labelled variants)."""
    if isinstance(arch, (str, Path)):
        return [str(arch)]
    if isinstance(arch, Mapping):
        return [f"{label}={path}" for label, path in arch.items()]
    return [str(a) for a in arch]


def _axis_args(axes: Mapping[str | tuple[str, ...], AxisValues] | Sequence[str]) -> list[str]:
    """Axes as the command line's ``--set`` texts."""
    if isinstance(axes, str):
        return [axes]
    if not isinstance(axes, Mapping):
        return [str(a) for a in axes]
    texts = []
    for name, values in axes.items():
        if isinstance(values, (str, int, float)):
            values = [values]
        if isinstance(name, tuple):
            cells = [":".join(_text(v) for v in value) for value in values]
            texts.append(f"{','.join(name)}={','.join(cells)}")
        else:
            texts.append(f"{name}={','.join(_text(v) for v in values)}")
    return texts


def _text(value: Any) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)
