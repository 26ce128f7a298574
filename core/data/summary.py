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


def summarize(cfg: SummaryConfig) -> dict[str, dict]:
    rows, returns = {}, {}
    for name in cfg.datasets:
        try:
            data = load_offline_data(cfg.task, name)
        except FileNotFoundError as err:
            print(f"{name:>14}: missing ({err})")
            continue
        rows[name] = data.return_stats
        returns[name] = np.array([t.rewards.sum() for t in data.trajectories])
        s = data.return_stats
        print(
            f"{name:>14}: {s['transitions']:>8} transitions {s['episodes']:>5} episodes  return "
            f"min {s['min']:8.1f}  p25 {s['p25']:8.1f}  median {s['p50']:8.1f}  p75 {s['p75']:8.1f}  max {s['max']:8.1f}"
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
