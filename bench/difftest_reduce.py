"""Reduce one input (e.g. a rare Timeloop crash from a campaign) to a small one with the same outcome.

    python bench/difftest_reduce.py FOLDER PATTERN OUT [--status crash|refuses|defect] [--engine REGEX]

``FOLDER`` holds ``input.yaml`` and ``ERT.yaml``.  The property kept while reducing: Timeloop's outcome
is ``--status`` (``crash``: killed by a signal; ``refuses``: an error exit; ``defect``: an impossible
number) and its message or log matches the regular expression ``PATTERN`` (and, with ``--engine``, the
engine's ``status: message`` matches that one).  The reduced input is saved in ``OUT`` as a case folder
(``tests/difftest/shrink.py``: ``save_case``).  Timeloop is found on PATH, in ``$TIMELOOP_ROOT/bin`` or in
``../shared/timeloop/bin``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import yaml  # noqa: E402

from difftest.reduce import reduce_input  # noqa: E402
from difftest.run import _impossible, find_timeloop_model, run_engine, run_timeloop, write_case  # noqa: E402
from difftest.shrink import save_case  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("pattern")
    ap.add_argument("out", type=Path)
    ap.add_argument("--status", choices=("crash", "refuses", "defect"), default="crash")
    ap.add_argument("--engine", help="regular expression the engine's 'status: message' must match")
    args = ap.parse_args(argv)
    binary = find_timeloop_model()
    if binary is None:
        print("timeloop-model not found (PATH, $TIMELOOP_ROOT, ../shared/timeloop)", file=sys.stderr)
        return 2
    pattern = re.compile(args.pattern, re.S)
    ert = (args.folder / "ERT.yaml").read_text()
    runs = 0

    def keep(doc: dict) -> bool:
        nonlocal runs
        runs += 1
        with tempfile.TemporaryDirectory(prefix="difftest-reduce-") as tmp:
            folder = Path(tmp)
            write_case(folder, yaml.safe_dump(doc, sort_keys=False), ert)
            status, result, message = run_timeloop(binary, folder)
            if args.status == "defect":
                found = _impossible(result) if status == "ok" and result is not None else ""
                ok = bool(found) and bool(pattern.search(found))
            else:
                log = folder / "timeloop.log"
                ok = status == args.status and bool(pattern.search(message + "\n" + (log.read_text()
                                                                                     if log.is_file() else "")))
            if ok and args.engine:
                our_status, _, our_message = run_engine(folder)
                ok = bool(re.search(args.engine, f"{our_status}: {our_message}"))
            return ok

    start = time.time()
    doc = yaml.safe_load((args.folder / "input.yaml").read_text())
    if not keep(doc):
        print(f"{args.folder}: the input does not have the property to keep", file=sys.stderr)
        return 2
    doc = reduce_input(doc, keep)
    text = yaml.safe_dump(doc, sort_keys=False)
    print(f"{runs} runs in {time.time() - start:.0f} s; input.yaml {len((args.folder / 'input.yaml').read_text())} "
          f"-> {len(text)} characters")
    print(save_case(binary, text, ert, args.out).summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
