"""Mutation testing of the claims: realistic bugs planted in theory/ and sims/, one at a time, in a scratch copy.

Each system lists its mutants in ``mutation/mutants_<system>.py`` as ``MUTANTS = [Mutant(...), ...]``. A mutant
replaces one exact snippet of one source file (the snippet must occur exactly once); ``python -m mutation`` (``make
mutation``) applies each in a scratch copy of the repository, runs that system's claims at test and report size and
its unit tests, and writes ``reports/MUTATION.md``: caught by which claim, by unit tests only, or survived.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    id: str
    """Unique, e.g. 'icl-theory-gamma-drop-1-over-n'."""
    file: str
    """Repository-relative path of the file to mutate, under theory/ or sims/."""
    old: str
    """Exact source snippet to replace; must occur exactly once in ``file``."""
    new: str
    description: str
    """The realistic bug in words: 'drops the 1/n of (1 + 1/n) in Gamma*'."""
    moves: str = ""
    """Which claimed quantity the bug moves and by how much (measured), e.g. 'eta_relu by +6 %'; '' if unknown."""

    def apply(self, source: str) -> str:
        count = source.count(self.old)
        if count != 1:
            raise ValueError(f"mutant {self.id}: snippet occurs {count} times in {self.file} (must be exactly once)")
        return source.replace(self.old, self.new, 1)
