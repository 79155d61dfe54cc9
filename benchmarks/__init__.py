"""Benchmarks of tinygrad_edu against hand-written numpy (and PyTorch CPU when installed).

Run ``python benchmarks/run.py`` (``--quick`` for a few-second smoke run);
``docs/performance.md`` explains the workloads and the figures.
"""
