"""Market state as a logic core: pools, prices, candles and the block-level book. No I/O."""
