"""The README's cells from evaluation reports: in-range Spearman / in-range alignment error / spread / best mean return,
one row per report and model, then the mean over training seeds per seed set and model.

    python experiments/table.py $QDT_EXP/mr-mid/hopper-s*/eval-*/report.json
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

NAMES = {"dt": "DT", "qalign": "Q-ALIGN DT"}
SETS = {300000: "validation", 100000: "test"}


def cells(metrics: dict) -> tuple[float, float, float, float]:
    inside = metrics["in_range"]
    return inside["spearman"], inside["alignment_error"], metrics.get("spread_ratio", np.nan), metrics["best_return"]


def ahead(a, b) -> bool:
    """Cells a ahead of cells b on both in-range Spearman (higher) and alignment error (lower); ties fail."""
    return bool(a[0] > b[0] and a[1] < b[1])


def fmt(c) -> str:
    return f"{c[0]:.2f} / {c[1]:.3f} / {c[2]:.2f} / {c[3]:,.0f}"


def fmt4(c) -> str:
    """The cells as the decide scripts print them (Spearman and error to four places)."""
    return f"{c[0]:.4f} / {c[1]:.4f} / {c[2]:.2f} / {c[3]:,.0f}"


def missed(c) -> list[str]:
    """The issue-13 bars the cells miss (``core.metrics.bars_missed`` read on cells; [] when they meet all three)."""
    from core.metrics import bars_missed  # here, so that `python experiments/table.py` runs without core on the path

    return bars_missed({"in_range": {"spearman": c[0], "alignment_error": c[1]}, "spread_ratio": c[2]})


FLOOR = (0.02, 0.007)
"""Session 25's random-stream noise floor (Spearman, error): how far the same stage without alignment moved the
cells from its DT (`s25-softplus`, KZ), the margin later experiments read differences against."""


def read(folder: Path, tag: str, eval_seed: int, kind: str | None = None) -> np.ndarray | None:
    """The cells of model ``kind`` (None: the report's only model) in ``folder/TAG-eval-SEED/report.json`` (an
    ``eval_seed_sets`` output), or None where it does not exist yet."""
    path = folder / f"{tag}-eval-{eval_seed}" / "report.json"
    if not path.exists():
        return None
    models = json.loads(path.read_text())["models"]
    (model,) = models.values() if kind is None else (models[kind],)
    return np.array(cells(model["metrics"]))


def as_good(question: str, prefix: str, kind: str, ref: tuple, other: tuple, seeds: tuple[int, ...]) -> None:
    """Per seed and on the mean, each seed set: is ``other`` as good as ``ref`` (Spearman at least ref's minus the
    noise floor, error at most ref's plus it)? ``ref`` / ``other``: (folder, tag), read as tag + seed."""
    n, (rt, ot) = len(seeds), (ref[1], other[1])
    for es, name in SETS.items():
        got = {(t, s): read(f, f"{t}{s}", es, kind) for f, t in (ref, other) for s in seeds}
        for (t, s), c in got.items():
            print(f"| {prefix}{name} | {t} | seed {s} | {'missing' if c is None else fmt4(c)} |")
        if any(c is None for c in got.values()):
            continue
        r, o = (np.mean([got[(t, s)] for s in seeds], axis=0) for t in (rt, ot))
        print(f"| {prefix}{name} | {rt} | mean of {n} | {fmt4(r)} |")
        print(f"| {prefix}{name} | {ot} | mean of {n} | {fmt4(o)} |")
        ok = o[0] >= r[0] - FLOOR[0] and o[1] <= r[1] + FLOOR[1]
        print(
            f"{prefix}{name}: {question} {ot} as good as {rt} (Spearman >= {rt} - {FLOOR[0]}, error <= {rt} + "
            f"{FLOOR[1]}): {ok}"
        )


def main(paths: list[str]) -> None:
    groups = defaultdict(list)
    for path in paths:
        report = json.loads(Path(path).read_text())
        cfg = report["config"]
        name = SETS.get(cfg["eval_seed"], f"seeds {cfg['eval_seed']}+")
        for kind, model in report["models"].items():
            c = cells(model["metrics"])
            groups[(name, kind)].append(c)
            print(
                f"| {cfg['task']} {cfg['dataset']} | seed {report.get('seed', cfg['seed'])} | {name} | {NAMES.get(kind, kind)} | {fmt(c)} |"
            )
    for (name, kind), rows in groups.items():
        if len(rows) > 1:
            print(f"| mean of {len(rows)} | {name} | {NAMES.get(kind, kind)} | {fmt(np.mean(rows, axis=0))} |")


if __name__ == "__main__":
    main(sys.argv[1:])
