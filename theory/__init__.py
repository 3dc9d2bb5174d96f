"""Closed forms and exact reference computations (numpy/scipy, float64), one module per system."""
