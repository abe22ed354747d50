"""The translation projects pipeline's activities."""
