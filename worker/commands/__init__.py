"""Command groups of the `stepwise` CLI, one module per pipeline."""

from __future__ import annotations

import typer

from worker.commands import b2b, booking, documents, media, poller, recon, translation

GROUPS: dict[str, typer.Typer] = {
    "b2b": b2b.app,
    "booking": booking.app,
    "documents": documents.app,
    "media": media.app,
    "poller": poller.app,
    "recon": recon.app,
    "translation": translation.app,
}
"""Command groups by name (`stepwise booking ...`)."""
