"""s29-walker-even (RULES.md): question 65, the `even` DTs against the `control` DTs of the same seeds, each read at
`control`'s requests and scored on its range; the two-seed (1, 2) validation mean decides, test and seed 0 reported.
Amendment 1: question 66 (the `even` Q-ALIGN DTs: the bars, and as good as the `even` DTs) and the ship rule of each
seed's `even` pair against the shown `control` pair (session 28's reads of it, same requests, same CPU).

    PYTHONPATH=$PWD python experiments/s29-walker-even/decide.py
"""

import importlib.util
import json
import os
from pathlib import Path

import numpy as np

from core.store.layout import REPO_ROOT
from experiments.table import FLOOR, SETS, ahead, cells, fmt4, missed

EXP = Path(os.environ.get("QDT_EXP", "/work/exp")) / "s29-walker-even"
STATS = json.loads((REPO_ROOT / "checkpoints/walker2d/control/dt/model.json").read_text())["return_stats"]
_spec = importlib.util.spec_from_file_location("rescore", REPO_ROOT / "experiments/s19-long-dt/rescore.py")
rescore = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rescore)


SHOWN = EXP.parent / "s28-long-walker"  # the shown `control` pair read at `control`'s requests (session 28)


def read(tag: str, eval_seed: int, kind: str = "dt", folder: Path = EXP) -> np.ndarray | None:
    path = folder / f"{tag}-eval-{eval_seed}" / "report.json"
    if not path.exists():
        return None
    return np.array(cells(rescore.rescored(json.loads(path.read_text()), kind, STATS)))


def q66() -> None:
    for es, name in SETS.items():
        qa = [read(f"q{s}", es, "qalign") for s in (1, 2)]
        dt = [read(f"e{s}", es) for s in (1, 2)]
        for s, c in zip((1, 2), qa, strict=True):
            print(f"| {name} | even Q-ALIGN DT | seed {s} | {'missing' if c is None else fmt4(c)} |")
        if any(c is None for c in qa + dt):
            continue
        q, d = np.mean(qa, axis=0), np.mean(dt, axis=0)
        good = q[0] >= d[0] - FLOOR[0] and q[1] <= d[1] + FLOOR[1]
        print(f"| {name} | even Q-ALIGN DT | mean of seeds 1, 2 | {fmt4(q)} |")
        print(f"{name}: Q66 bars met: {not missed(q)} {missed(q)}; as good as the even DT ({fmt4(d)}): {good}")


def ship() -> None:
    for s in (1, 2):
        verdicts = []
        for es, name in SETS.items():
            for tag, kind in ((f"e{s}", "dt"), (f"q{s}", "qalign")):
                new, old = read(tag, es, kind), read("SHOWN", es, kind, SHOWN)
                if new is None or old is None:
                    verdicts.append(None)
                    continue
                verdicts.append(ahead(new, old))
                print(f"ship rule seed {s} {name} {kind}: {fmt4(new)} against the shown {fmt4(old)}: {ahead(new, old)}")
        if None not in verdicts:
            print(f"ship rule seed {s}: {'the pair ships' if all(verdicts) else 'does not ship'}")


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
    q66()
    ship()


if __name__ == "__main__":
    main()
