"""The API's error bodies, one shape for every 4xx and 5xx answer.

Every refusal is ``{"detail": "<one line>", "errors": [{"field": ..., "message": ...}]}``:
``detail`` says what went wrong in one line, ``errors`` names each bad field (empty when
no single field is at fault, e.g. a missing token or Temporal being unreachable). The
models here are what the OpenAPI document shows for those answers.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    """One field that was refused, and why."""

    field: str = Field(description="Dotted name of the field (``body`` when the whole body is at fault).")
    message: str = Field(description="Why the field was refused.")


class ErrorBody(BaseModel):
    """The body of every error answer."""

    detail: str = Field(description="What went wrong, in one line.")
    errors: list[FieldProblem] = Field(default_factory=list, description="Each refused field, if any.")
