"""Benchmarks and stress scripts, each run as ``python -m bench.<name>``."""
