"""Print size, episode count and return distribution of datasets; optionally save a histogram.

python -m core.data.summary --task hopper --html results/hopper_returns.html
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro

from core.data.dataset import load_offline_data
from core.data.minari_io import QUALITIES


@dataclass(frozen=True)
class SummaryConfig:
    """Dataset summary."""

    task: str = "hopper"
    """Task name."""
    datasets: tuple[str, ...] = QUALITIES
    """Qualities or full Minari ids; missing ones are reported, not fatal."""
    html: Path | None = None
    """Write a plotly histogram of episode returns here (HTML)."""


def length_share(returns: np.ndarray, lengths: np.ndarray) -> float:
    """How much of the spread of episode returns comes from episode length: R^2 of returns on lengths (0 when every
    episode has the same length). Near 1 (Hopper and Walker2d ``control``: 0.9+), a return request mostly asks *when
    to fall*; near 0 (HalfCheetah, ``pace``), it asks how to move."""
    lengths = np.asarray(lengths, dtype=float)
    if len(lengths) < 2 or np.ptp(lengths) == 0 or np.ptp(returns) == 0:
        return 0.0
    return float(np.corrcoef(returns, lengths)[0, 1] ** 2)


def summarize(cfg: SummaryConfig) -> dict[str, dict]:
    rows, returns = {}, {}
    for name in cfg.datasets:
        try:
            data = load_offline_data(cfg.task, name)
        except FileNotFoundError as err:
            print(f"{name:>14}: missing ({err})")
            continue
        returns[name] = np.array([t.rewards.sum() for t in data.trajectories])
        share = length_share(returns[name], [len(t) for t in data.trajectories])
        rows[name] = s = data.return_stats | {"length_share": share}
        print(
            f"{name:>14}: {s['transitions']:>8} transitions {s['episodes']:>5} episodes  return "
            f"min {s['min']:8.1f}  p25 {s['p25']:8.1f}  median {s['p50']:8.1f}  p75 {s['p75']:8.1f}  max {s['max']:8.1f}"
            f"  length share {share:.2f}"
        )
    if cfg.html is not None and returns:
        import plotly.graph_objects as go

        fig = go.Figure([go.Histogram(x=r, name=n, opacity=0.6, nbinsx=50) for n, r in returns.items()])
        fig.update_layout(
            barmode="overlay", title=f"{cfg.task}: episode returns", xaxis_title="return", yaxis_title="episodes"
        )
        cfg.html.parent.mkdir(parents=True, exist_ok=True)
        fig.write_html(cfg.html)
    return rows


if __name__ == "__main__":
    summarize(tyro.cli(SummaryConfig))
