"""Benchmarks: each compares the product against a bare baseline started in the same run."""
