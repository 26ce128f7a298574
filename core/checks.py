"""Refusing command-line numbers out of range at the edge, each named by its option, all at once."""

from __future__ import annotations

from collections.abc import Iterable


def out_of_range(checks: Iterable[tuple[str, object, bool, str]], prefix: str = "--") -> list[str]:
    """``(option, value, ok, rule)`` rows -> "<prefix><option> must be <rule> (got <value>)" for each row not ok."""
    return [f"{prefix}{name} must be {rule} (got {value})" for name, value, ok, rule in checks if not ok]


def refuse(problems: list[str]) -> None:
    """One ValueError naming every problem, or nothing when there is none."""
    if problems:
        raise ValueError("; ".join(problems))
