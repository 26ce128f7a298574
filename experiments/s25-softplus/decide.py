"""s25-softplus questions 44-46 and 48, read off the reports (RULES.md): KS (softplus), KQ (relu, session 24), KZ (the
stage without alignment) and their DTs (H) on validation and test, on `control`'s range, then the counts, means,
distances to the DTs and question 46 by `experiments/ship_rule.py`.

    python experiments/s25-softplus/decide.py [EXP]     (EXP: default /work/exp)
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
FOLDERS = ("s25-softplus", "s24-branch-ladder", "s23-top-ship", "s22-ladder")
KIND = {"H": "dt", "KQ": "qalign", "KS": "qalign", "KZ": "qalign"}
SEEDS = (3, 4, 5)


def main(exp: Path) -> None:
    cells = {}
    for s in SEEDS:
        for arm, kind in KIND.items():
            for e, name in SETS.items():
                path = find_report(exp, FOLDERS, f"{arm}{s}", e)
                if path is not None:
                    cells[arm, s, e] = c = in_range_cell(path, kind, STATS)
                    print(f"{arm}{s} {name:10s} {c[0]:.4f} / {c[1]:.4f}")
    val = 300000
    done = [s for s in SEEDS if ("KS", s, val) in cells]
    wins = [s for s in done if ahead(cells["KS", s, val], cells["H", s, val])]
    print(f"question 45: KS ahead of its DT on validation in {len(wins)} of {len(done)} seeds {wins}")
    if len(done) == len(SEEDS):
        mean = {arm: [sum(cells[arm, s, val][i] for s in SEEDS) / len(SEEDS) for i in (0, 1)] for arm in KIND
                if all((arm, s, val) in cells for s in SEEDS)}  # fmt: skip
        for arm, m in mean.items():
            print(f"  three-seed validation mean {arm} {m[0]:.4f} / {m[1]:.4f}")
        print("question 44: KS " + ("ahead of" if ahead(mean["KS"], mean["KQ"]) else "not ahead of") + " KQ")
    if all(("KZ", s, val) in cells for s in SEEDS):  # question 48: the distance to the DT without any alignment
        for arm in ("KQ", "KS", "KZ"):
            gap = [sum(abs(cells[arm, s, val][i] - cells["H", s, val][i]) for s in SEEDS) / len(SEEDS) for i in (0, 1)]
            print(f"question 48: mean |{arm} - H| on validation: Spearman {gap[0]:.4f}, error {gap[1]:.4f}")
    new = [find_report(exp, FOLDERS, "KS5", e) for e in SETS]
    if all(new):
        old = [find_report(exp, FOLDERS, "KQ5", e) for e in SETS]
        ships, lines = verdict(*([json.loads(p.read_text()) for p in ps] for ps in (new, old)))
        print("question 46 (ship_rule.py, the reports' own in-range cells):", *lines, sep="\n  ")
        print("  verdict: KS5 " + ("replaces KQ5" if ships else "does not replace KQ5"))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/exp"))
