"""Offline datasets: collection into Minari format, loading into trajectories, summaries."""
