"""Figures and the interactive viewer for dense features and probe predictions."""
