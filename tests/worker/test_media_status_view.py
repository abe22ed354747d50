"""The media job view never pairs a finished workflow with a job that has no record yet.

Post-processing (or the failure's record) commits the job's row, then the workflow
finishes. A view that read the row before asking the workflow could land between the two
and say RUNNING, with no record, beside a workflow already COMPLETED. Here the step
commits while the view is asking the workflow, the moment that tore the view.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus

from activities.common.db import SessionMaker
from activities.media.contracts import MediaProgress
from activities.media.keys import media_workflow_id
from activities.models.media import MediaJob, MediaTranslation
from tests.support.stub_temporal import Described, GoneWorkflow, OneWorkflowClient
from worker.services.media import MediaJobNotFound, media_job_status


def _job(job_id: str, status: str, **values: Any) -> MediaJob:
    return MediaJob(
        job_id=job_id,
        workflow_id=media_workflow_id(job_id),
        media_uri=f"s3://media/{job_id}.mp4",
        language_code="en-US",
        target_languages=["es"],
        status=status,
        owner="partner-a",
        **values,
    )


class _PostProcessingMidDescribe:
    """A job whose post-processing commits its record just before Temporal reports it COMPLETED."""

    def __init__(self, sessions: SessionMaker, job_id: str) -> None:
        self._sessions = sessions
        self._job_id = job_id

    async def describe(self) -> Described:
        async with self._sessions.begin() as session:
            session.add(_job(self._job_id, "COMPLETED", transcript="hello", manifest_uri="s3://out/manifest.json"))
            await session.flush()
            session.add(
                MediaTranslation(
                    job_id=self._job_id,
                    language_code="es",
                    translated_text="hola",
                    text_uri="s3://out/es.txt",
                    segments_uri="s3://out/es.json",
                    segment_count=1,
                    machine_translated_segments=1,
                    segments=[{"index": 0, "source_bytes": 5, "machine_translated": True}],
                )
            )
        return Described(WorkflowExecutionStatus.COMPLETED, owner="partner-a")


class _Running:
    """A job still transcribing: no record yet, the owner only in the memo."""

    async def describe(self) -> Described:
        return Described(WorkflowExecutionStatus.RUNNING, owner="partner-a")

    async def query(self, query: Any, *args: Any, **kwargs: Any) -> MediaProgress:
        return MediaProgress(status="RUNNING", current_step="wait_for_transcript", completed_steps=["copy_media"])


def _job_id() -> str:
    return f"media-view-{uuid.uuid4().hex[:8]}"


async def test_a_completed_workflow_comes_with_its_record(sessions: SessionMaker) -> None:
    job_id = _job_id()
    view = await media_job_status(OneWorkflowClient(_PostProcessingMidDescribe(sessions, job_id)), sessions, job_id)  # type: ignore[arg-type]
    assert (view.workflow_status, view.status, view.transcript) == ("COMPLETED", "COMPLETED", "hello")
    assert [t["language"] for t in view.translations] == ["es"]


async def test_a_running_job_without_a_record_shows_its_progress(sessions: SessionMaker) -> None:
    job_id = _job_id()
    view = await media_job_status(OneWorkflowClient(_Running()), sessions, job_id)  # type: ignore[arg-type]
    assert (view.status, view.workflow_status, view.owner, view.current_step, view.completed_steps) == (
        "RUNNING",
        "RUNNING",
        "partner-a",
        "wait_for_transcript",
        ["copy_media"],
    )


async def test_a_job_neither_temporal_nor_postgres_knows_is_not_found(sessions: SessionMaker) -> None:
    with pytest.raises(MediaJobNotFound):
        await media_job_status(OneWorkflowClient(GoneWorkflow()), sessions, _job_id())  # type: ignore[arg-type]


async def test_a_finished_job_gone_from_temporal_is_read_from_postgres(sessions: SessionMaker) -> None:
    job_id = _job_id()
    async with sessions.begin() as session:
        session.add(_job(job_id, "FAILED", failed_step="translate", failure_reason="unsupported pair"))
    view = await media_job_status(OneWorkflowClient(GoneWorkflow()), sessions, job_id)  # type: ignore[arg-type]
    assert (view.status, view.workflow_status, view.failed_step, view.owner) == (
        "FAILED",
        None,
        "translate",
        "partner-a",
    )
