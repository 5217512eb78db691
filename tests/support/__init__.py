"""Test support: fault injection (TCP proxy), database fixtures, chain helpers."""
