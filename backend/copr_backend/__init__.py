"""Copr backend: dispatchers, workers, builder pools, results, signing and repos."""
