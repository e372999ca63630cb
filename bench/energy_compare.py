"""Compare the component models' energies with the pinned fig15 tables, action by action.

Run: .venv/bin/python bench/energy_compare.py   (prints a Markdown table: docs/energy.md shows it)
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sparsesweep.energy import CachedModels, Hwcomponents, arch_energies  # noqa: E402
from sparsesweep.specs import load_arch  # noqa: E402

ACTIONS = ("read", "write", "gated_read", "metadata_read", "metadata_write", "gated_metadata_read",
           "mac_random", "mac_gated")


def main() -> None:
    models = CachedModels(Hwcomponents())
    print("| table | level | action | pinned (pJ) | hwcomponents (pJ) | ratio |")
    print("|---|---|---|---|---|---|")
    for name, dense, table in (("stc", False, "stc_45nm"), ("stc", True, "tc_45nm"), ("dstc", False, "dstc_45nm")):
        arch = load_arch(REPO / "arch" / f"{name}.yaml")
        pinned = arch_energies(arch, "pinned", None, dense=dense).level_actions()
        raw = arch_energies(arch, "hwcomponents", models, dense=dense).level_actions()
        for level in ("DRAM", "SMEM", "RF", "LRF", "MAC"):
            for action in ACTIONS:
                p, h = pinned.get(level, {}).get(action), raw.get(level, {}).get(action)
                if p is None or h is None or (p == 0 and h == 0):
                    continue
                ratio = f"{h / p:.2f}" if p else "-"
                print(f"| {table} | {level} | {action} | {p:g} | {h:.4g} | {ratio} |")


if __name__ == "__main__":
    main()
