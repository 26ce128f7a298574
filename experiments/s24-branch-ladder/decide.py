"""s24-branch-ladder questions 27-29 and 31, read off the reports (RULES.md): every model's validation and test cells
on `control`'s range (as session 23 read them), then each question's count or mean, then question 29 by
`experiments/ship_rule.py` (KQ5 against the shipped HQ5, on the reports' own in-range cells).

    python experiments/s24-branch-ladder/decide.py [EXP]     (EXP: default /work/exp)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments" / "s19-long-dt"))
sys.path.insert(0, str(ROOT / "experiments"))
from rescore import find_report, in_range_cell  # noqa: E402
from ship_rule import verdict  # noqa: E402
from table import ahead  # noqa: E402

SETS = {300000: "validation", 100000: "test"}
STATS = json.loads((ROOT / "checkpoints/hopper/control/dt/model.json").read_text())["return_stats"]
KIND = {"H": "dt", "HQ": "qalign", "KQ": "qalign", "KE": "qalign"}
DECIDING = (3, 4, 5)


def report(exp: Path, tag: str, e: int) -> Path | None:
    """Where a model's report is: this session's, session 23's or session 22's folder."""
    return find_report(exp, ("s24-branch-ladder", "s23-top-ship", "s22-ladder"), tag, e)


def main(exp: Path) -> None:
    cells: dict[tuple[str, int, int], tuple[float, float]] = {}
    for s in range(3, 8):
        for arm, kind in KIND.items():
            for e, name in SETS.items():
                path = report(exp, f"{arm}{s}", e)
                if path is not None:
                    cells[arm, s, e] = c = in_range_cell(path, kind, STATS)
                    print(f"{arm}{s:<2d} {name:10s} {c[0]:.4f} / {c[1]:.4f}")
    val = 300000
    for arm, q in (("KQ", 27), ("KE", 31)):
        seeds = [s for s in DECIDING if (arm, s, val) in cells]
        wins = [s for s in seeds if ahead(cells[arm, s, val], cells["H", s, val])]
        print(f"question {q}: {arm} ahead of its DT on validation in {len(wins)} of {len(seeds)} deciding seeds {wins}")
        if len(seeds) == len(DECIDING):
            mean = [sum(cells[arm, s, val][i] for s in seeds) / len(seeds) for i in (0, 1)]
            other = "HQ" if arm == "KQ" else "KQ"
            ref = [sum(cells[other, s, val][i] for s in seeds) / len(seeds) for i in (0, 1)]
            print(f"  three-seed validation mean {arm} {mean[0]:.4f} / {mean[1]:.4f} against {other} {ref[0]:.4f} / "
                  f"{ref[1]:.4f}: " + ("ahead" if ahead(mean, ref) else "not ahead"))  # fmt: skip
    new = [report(exp, "KQ5", e) for e in SETS]
    if all(new):
        old = [report(exp, "HQ5", e) for e in SETS]
        ships, lines = verdict(*([json.loads(p.read_text()) for p in ps] for ps in (new, old)))
        print("question 29 (ship_rule.py, the reports' own in-range cells):", *lines, sep="\n  ")
        print("  verdict: KQ5 " + ("replaces HQ5" if ships else "does not replace HQ5"))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/exp"))
