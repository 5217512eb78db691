"""The edge node: follows the chain, keeps pool state, prices and candles, and exports health."""

__version__ = "0.1.0"
