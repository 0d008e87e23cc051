"""Runnable experiments that back the claims in the README (each prints its numbers)."""
