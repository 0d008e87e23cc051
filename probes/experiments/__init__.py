"""Runnable experiments that check the suite end to end on the embedded scenes (no download needed)."""
