"""The recon pipeline's activities."""
