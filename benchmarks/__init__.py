"""Benchmarks and load tests of the served model (see benchmarks/README.md)."""
