"""Frozen SigLIP 2 encoders, dense feature extraction and data (embedded scenes, real data-set layouts)."""
