"""Twin Q critic: two MLPs on concat(s, a) with LayerNorm and Mish (METHOD.md)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class CriticConfig:
    """Critic shape (paper: 3 hidden layers of 256)."""

    hidden: int = 256
    """Width of each hidden layer."""
    n_layers: int = 3
    """Hidden layers per Q network."""


def _q_net(in_dim: int, cfg: CriticConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(cfg.n_layers):
        layers += [nn.Linear(in_dim, cfg.hidden), nn.LayerNorm(cfg.hidden), nn.Mish()]
        in_dim = cfg.hidden
    return nn.Sequential(*layers, nn.Linear(in_dim, 1))


class TwinCritic(nn.Module):
    def __init__(self, cfg: CriticConfig, obs_dim: int, act_dim: int):
        super().__init__()
        self.cfg, self.obs_dim, self.act_dim = cfg, obs_dim, act_dim
        self.q = nn.ModuleList(_q_net(obs_dim + act_dim, cfg) for _ in range(2))

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """states (..., obs_dim), actions (..., act_dim) -> Q values (2, ...), one row per head."""
        x = torch.cat([states, actions], dim=-1)
        return torch.stack([q(x).squeeze(-1) for q in self.q])
