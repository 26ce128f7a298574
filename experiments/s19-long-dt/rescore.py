"""Score an evaluation report's sweep against another dataset's return range (E3: a DT trained on Hopper `even`,
read on `control`'s protocol beside `control`'s DTs): in-range Spearman / alignment error / spread / best return,
as experiments/table.py prints them.

    python experiments/s19-long-dt/rescore.py REPORT.json --stats checkpoints/hopper/control/dt/model.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.envs import get_task  # noqa: E402
from core.evaluation import score_sweep  # noqa: E402
from core.rollout import SweepResult  # noqa: E402
from experiments.table import cells, fmt  # noqa: E402

FIELDS = ("targets", "returns", "lengths", "speeds", "seeds")


def rescored(report: dict, kind: str, stats: dict) -> dict:
    """``core.evaluation.score_sweep`` of one model's sweep in a report, against the return range of ``stats``."""
    res = SweepResult(**{k: np.asarray(report["models"][kind]["sweep"][k]) for k in FIELDS})
    return score_sweep(res, get_task(report["task"]), stats)


def find_report(exp: Path, folders: tuple[str, ...], tag: str, e: int) -> Path | None:
    """The first of ``folders`` (under ``exp``) holding model ``tag``'s report on seed set ``e``; None if none does."""
    for folder in folders:
        path = exp / folder / f"{tag}-eval-{e}/report.json"
        if path.exists():
            return path
    return None


def in_range_cell(path: Path, kind: str, stats: dict) -> tuple[float, float]:
    """(in-range Spearman, alignment error) of one model's sweep in the report at ``path``, on ``stats``' range."""
    m = rescored(json.loads(Path(path).read_text()), kind, stats)
    return m["in_range"]["spearman"], m["in_range"]["alignment_error"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--stats", required=True, help="a model JSON whose return_stats give the range to score against")
    args = ap.parse_args()
    stats = json.loads(Path(args.stats).read_text())["return_stats"]
    for path in args.reports:
        report = json.loads(Path(path).read_text())
        for kind in report["models"]:
            print(f"{path}: {kind} {fmt(cells(rescored(report, kind, stats)))}")


if __name__ == "__main__":
    main()
