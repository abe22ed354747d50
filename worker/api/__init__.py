"""Stepwise's HTTP API (FastAPI): start pipelines, read status, decide, list attention."""
