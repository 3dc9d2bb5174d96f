"""Torch simulators, one module per system, plus the shared runtime, results store and sweep runner."""

SYSTEMS = ("icl", "lssl", "admm", "grokking", "hierarchical")
