"""The doctor pipeline's activities."""
