"""s29-walker-even (RULES.md): question 65, the `even` DTs against the `control` DTs of the same seeds, each read at
`control`'s requests and scored on its range; the two-seed (1, 2) validation mean decides, test and seed 0 reported.

    PYTHONPATH=$PWD python experiments/s29-walker-even/decide.py
"""

import importlib.util
import json
import os
from pathlib import Path

import numpy as np

from core.store.layout import REPO_ROOT
from experiments.table import SETS, ahead, cells, fmt4

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s29-walker-even"
STATS = json.loads((REPO_ROOT / "checkpoints/walker2d/control/dt/model.json").read_text())["return_stats"]
_spec = importlib.util.spec_from_file_location("rescore", REPO_ROOT / "experiments/s19-long-dt/rescore.py")
rescore = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rescore)


def read(tag: str, eval_seed: int) -> np.ndarray | None:
    path = EXP / f"{tag}-eval-{eval_seed}" / "report.json"
    if not path.exists():
        return None
    return np.array(cells(rescore.rescored(json.loads(path.read_text()), "dt", STATS)))


def main() -> None:
    for es, name in SETS.items():
        got = {(d, s): read(f"{d[0]}{s}", es) for d in ("control", "even") for s in (1, 2, 0)}
        for (d, s), c in got.items():
            print(f"| {name} | {d} | seed {s} | {'missing' if c is None else fmt4(c)} |")
        if any(got[(d, s)] is None for d in ("control", "even") for s in (1, 2)):
            continue
        c, e = (np.mean([got[(d, s)] for s in (1, 2)], axis=0) for d in ("control", "even"))
        print(f"| {name} | control | mean of seeds 1, 2 | {fmt4(c)} |")
        print(f"| {name} | even | mean of seeds 1, 2 | {fmt4(e)} |")
        print(f"{name}: Q65 even ahead of control (Spearman higher and error lower): {ahead(e, c)}")


if __name__ == "__main__":
    main()
