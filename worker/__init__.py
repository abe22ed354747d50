"""Stepwise processes: settings, telemetry, the worker, the HTTP API, the CLI and the dev stack."""
