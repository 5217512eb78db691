"""Strategies as logic cores: pool state in, intended trades out. No I/O."""
