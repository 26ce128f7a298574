"""Training: configs and presets, losses, checkpoints, and the three stages (critic, dt, qalign)."""
