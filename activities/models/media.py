"""Media pipeline records (DESIGN §5.3): each job's outcome, transcript and translations.

Postgres holds the business record; the S3 objects named here are the same content in
files, for downstream tools. Rows are written by upsert, so a retried step rewrites the
same row.
"""

from __future__ import annotations

from sqlalchemy import ARRAY, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from activities.models.base import Base, Timestamps


class MediaJob(Timestamps, Base):
    """One media job. Status COMPLETED, or FAILED with the step and reason."""

    __tablename__ = "media_jobs"

    job_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(120), unique=True)
    media_uri: Mapped[str] = mapped_column(Text)
    language_code: Mapped[str] = mapped_column(String(10))
    target_languages: Mapped[list[str]] = mapped_column(ARRAY(String(10)))
    status: Mapped[str] = mapped_column(String(20), index=True)
    transcription_job_name: Mapped[str | None] = mapped_column(String(200))
    processing_uri: Mapped[str | None] = mapped_column(Text)
    transcript_uri: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)
    transcript_bytes: Mapped[int | None] = mapped_column(Integer)
    polls: Mapped[int | None] = mapped_column(Integer)
    manifest_uri: Mapped[str | None] = mapped_column(Text)
    failed_step: Mapped[str | None] = mapped_column(String(50))
    failure_type: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(40), index=True)
    """The partner who submitted the job; NULL when an operator did."""


class MediaTranslation(Timestamps, Base):
    """A job's transcript in one target language, with its segments and their flags."""

    __tablename__ = "media_translations"

    job_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("media_jobs.job_id", ondelete="CASCADE"), primary_key=True
    )
    language_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    translated_text: Mapped[str] = mapped_column(Text)
    text_uri: Mapped[str] = mapped_column(Text)
    segments_uri: Mapped[str] = mapped_column(Text)
    segment_count: Mapped[int] = mapped_column(Integer)
    machine_translated_segments: Mapped[int] = mapped_column(Integer)
    segments: Mapped[list[dict[str, object]]] = mapped_column(JSONB)
    """[{index, source_bytes, machine_translated}] per segment, in order."""
