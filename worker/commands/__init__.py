"""Command groups of the `stepwise` CLI, one module per pipeline."""

from __future__ import annotations

import typer

from worker.commands import media

GROUPS: dict[str, typer.Typer] = {
    "media": media.app,
}
"""Command groups by name (`stepwise booking ...`)."""
