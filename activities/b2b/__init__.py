"""The b2b pipeline's activities."""
