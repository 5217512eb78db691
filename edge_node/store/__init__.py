"""Persistence: the batched writer thread, the row conversions and the readers."""
