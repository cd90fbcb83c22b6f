"""Benchmarks: each runs the competing approach on the same data in the same run."""
