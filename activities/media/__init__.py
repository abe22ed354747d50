"""The media pipeline's activities."""
