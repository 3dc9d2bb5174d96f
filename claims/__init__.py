"""The theorems the testbed validates, one module per system; each exposes ``CLAIMS: list[Claim]``."""
from __future__ import annotations

import importlib

from sims import SYSTEMS


def load_claims(system: str):
    """The CLAIMS of ``claims.<system>``; ValueError for an unknown system, [] for one not built yet."""
    if system not in SYSTEMS:
        raise ValueError(f"system={system!r} is not valid; use one of {SYSTEMS}")
    try:
        module = importlib.import_module(f"claims.{system}")
    except ModuleNotFoundError as err:
        if err.name == f"claims.{system}":
            return []
        raise
    return list(module.CLAIMS)
