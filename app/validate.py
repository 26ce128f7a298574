"""The input edge: turns what the page or an API call sent into checked values, or a gr.Error that names
the field. Events that use these run with ``preprocess=False``, so a bad value reaches us instead of failing
inside a component's own preprocessing (which a client sees only as 'the upstream app raised an exception')."""

from __future__ import annotations

import math

import gradio as gr


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _bounds(lo: float, hi: float) -> str:
    """The bounds in words, for a message: ' between 0 and 5', ' of at least 0' (no upper bound), ' of at most 5',
    or '' (no bounds)."""
    if math.isinf(hi):
        return "" if math.isinf(lo) else f" of at least {lo:g}"
    return f" of at most {hi:g}" if math.isinf(lo) else f" between {lo:g} and {hi:g}"


def number(value, name: str, lo: float, hi: float, whole: bool = False) -> float:
    """A finite number in [lo, hi] (a whole one if ``whole``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise gr.Error(f"{name} is empty: enter a number{_bounds(lo, hi)}.")
    if isinstance(value, bool):
        raise gr.Error(f"{name} must be a number, got {_shown(value)}.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a number, got {_shown(value)}.") from None
    if not math.isfinite(v):
        raise gr.Error(f"{name} must be a finite number, got {_shown(value)}.")
    if whole and v != math.floor(v):
        raise gr.Error(f"{name} must be a whole number, got {_shown(value)}.")
    if v < lo:
        raise gr.Error(f"{name} {v:g} is less than minimum {lo:g}.")
    if v > hi:
        raise gr.Error(f"{name} {v:g} is greater than maximum {hi:g}.")
    return v


def one_of(value, name: str, options: list[str]) -> str:
    """One of ``options`` (exactly as listed)."""
    if value not in options:
        listed = ", ".join(repr(o) for o in options) or "(none available)"
        raise gr.Error(f"{name} {_shown(value)} is not available; choose one of {listed}.")
    return value


def flag(value, name: str, default: bool = False) -> bool:
    """A checkbox: True or False (None, as an API call that leaves it out sends, is ``default``)."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise gr.Error(f"{name} must be true or false, got {_shown(value)}.")
    return value
