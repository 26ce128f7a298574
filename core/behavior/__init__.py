"""Behaviour policies: SB3 training, and a small pickle-free actor that our code rebuilds."""
