"""Command groups of the `stepwise` CLI, one module per pipeline."""

from __future__ import annotations

import typer

GROUPS: dict[str, typer.Typer] = {}
"""Command groups by name (`stepwise booking ...`)."""
