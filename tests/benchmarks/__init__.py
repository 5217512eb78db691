"""Benchmarks: scripts that print one JSON object each (ours, the baseline's, the ratio).

They are not collected by pytest (timings are not tests); run them with ``make bench``.
"""
