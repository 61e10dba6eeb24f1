"""How every benchmark prints the outcome of a target: figures are reported, never asserted."""

from __future__ import annotations


def verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"
