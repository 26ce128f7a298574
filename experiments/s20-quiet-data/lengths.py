"""Per request, what a sweep's episodes did: mean achieved return, mean length and how many ran the whole 1,000
steps, for each model of each evaluation report (Hopper's return spread is mostly when the robot falls).

    python experiments/s20-quiet-data/lengths.py REPORT.json ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main(paths: list[str]) -> None:
    for path in paths:
        report = json.loads(Path(path).read_text())
        for kind, model in report["models"].items():
            sweep = model["sweep"]
            targets = np.asarray(sweep["targets"])
            returns, lengths = np.asarray(sweep["returns"]), np.asarray(sweep["lengths"])
            print(f"{path}: {kind}")
            for t, r, n in zip(targets, returns, lengths):
                print(
                    f"  asked {t:7,.0f}: return {r.mean():7,.0f}, length {n.mean():5.0f}, whole episodes {(n >= 1000).sum()}/{len(n)}"
                )


if __name__ == "__main__":
    main(sys.argv[1:])
