"""Figure scripts, one per figure (fig_<system>_<what>.py); they read the store and draw, never train."""
