"""s23-top-ship question 20, read off the reports (RULES.md): pick the seed on validation only (the pair's two
validation alignment errors summed, lowest; ties: the higher summed Spearman), then the standing ship rule across
data: each of its models must beat the same kind of the shown Hopper `control` pair on in-range Spearman and
alignment error (higher / lower, ties fail) on both seed sets, all scored on `control`'s range.

    python experiments/s23-top-ship/decide.py [EXP]     (EXP: default /work/exp/s23-top-ship)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments" / "s19-long-dt"))
from rescore import in_range_cell  # noqa: E402

SETS = {300000: "validation", 100000: "test"}
STATS = json.loads((ROOT / "checkpoints/hopper/control/dt/model.json").read_text())["return_stats"]


def find(exp: Path, tag: str, e: int) -> Path:
    """A report of this experiment, or of session 22's (H3 / H4 were read there)."""
    here = exp / f"{tag}-eval-{e}/report.json"
    return here if here.exists() else exp.parent / "s22-ladder" / f"{tag}-eval-{e}/report.json"


def main(exp: Path) -> None:
    pairs = {}
    for s in range(10):
        dt, qa = find(exp, f"H{s}", 300000), find(exp, f"HQ{s}", 300000)
        if dt.exists() and qa.exists():
            (rd, ed), (rq, eq) = in_range_cell(dt, "dt", STATS), in_range_cell(qa, "qalign", STATS)
            pairs[s] = (ed + eq, -(rd + rq))
            print(
                f"seed {s}: validation DT {rd:.4f} / {ed:.4f}, Q-ALIGN DT {rq:.4f} / {eq:.4f}, errors summed {ed + eq:.4f}"
            )
    if not pairs:
        sys.exit("no seed has both models read")
    s = min(pairs, key=lambda k: pairs[k])
    print(f"chosen on validation: seed {s}")
    ships = True
    for e, name in SETS.items():
        for kind, tag in (("dt", f"H{s}"), ("qalign", f"HQ{s}")):
            rho, err = in_range_cell(find(exp, tag, e), kind, STATS)
            o_rho, o_err = in_range_cell(exp / f"shown-eval-{e}/report.json", kind, STATS)
            ok = rho > o_rho and err < o_err
            ships &= ok
            print(f"{name:10s} {kind:6s} Spearman {rho:.4f} vs shown {o_rho:.4f}, error {err:.4f} vs {o_err:.4f}: "
                  + ("beats" if ok else "does not beat"))  # fmt: skip
    print(f"verdict: seed {s}'s pair " + ("ships" if ships else "does not ship"))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/exp/s23-top-ship"))
