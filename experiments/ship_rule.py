"""The standing ship rule, read off evaluation reports: a retrained pair replaces the shown one only if each of its
models has a higher in-range Spearman and a lower in-range alignment error than the model it replaces, on the
validation and on the test seed set (ties fail). Prints every comparison and the verdict.

    python experiments/ship_rule.py --new NEW_VAL/report.json NEW_TEST/report.json --old OLD_VAL/report.json OLD_TEST/report.json
"""

import argparse
import json
from pathlib import Path

from table import NAMES, SETS


def in_range(report: dict) -> dict[str, tuple[float, float]]:
    return {k: (m["metrics"]["in_range"]["spearman"], m["metrics"]["in_range"]["alignment_error"]) for k, m in report["models"].items()}  # fmt: skip


def verdict(new: list[dict], old: list[dict]) -> tuple[bool, list[str]]:
    """(ships, one line per model and seed set) for reports paired by seed set."""
    lines, ships = [], True
    for n, o in zip(new, old, strict=True):
        if n["config"]["eval_seed"] != o["config"]["eval_seed"]:
            raise ValueError("new and old reports must be given in the same seed-set order")
        name = SETS.get(n["config"]["eval_seed"], f"seeds {n['config']['eval_seed']}+")
        old_cells = in_range(o)
        for kind, (rho, err) in in_range(n).items():
            o_rho, o_err = old_cells[kind]
            ok = rho > o_rho and err < o_err
            ships &= ok
            lines.append(
                f"{name:10s} {NAMES.get(kind, kind):11s} Spearman {rho:.3f} vs {o_rho:.3f}, error {err:.3f} vs {o_err:.3f}: "
                + ("beats" if ok else "does not beat")
            )
    return ships, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--new", nargs="+", required=True, type=Path)
    ap.add_argument("--old", nargs="+", required=True, type=Path)
    args = ap.parse_args()
    ships, lines = verdict(*([json.loads(p.read_text()) for p in ps] for ps in (args.new, args.old)))
    print("\n".join(lines))
    print("the pair ships" if ships else "the pair does not ship: the shown one stays")


if __name__ == "__main__":
    main()
