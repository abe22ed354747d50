"""The booking pipeline's activities."""
