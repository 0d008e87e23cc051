"""Probe heads, losses, metrics and training on frozen SigLIP 2 features."""
