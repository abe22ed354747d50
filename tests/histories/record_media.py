"""Record the media histories replayed by tests/workflows/media/test_media_replay.py.

    .venv/bin/python -m tests.histories.record_media

Runs MediaWorkflow on the time-skipping server with the name-matched mock activities
(the history has the same shape as with real ones) and writes one JSON file per
scenario. Re-record only when a workflow change is meant to be incompatible, and then
guard the change with ``workflow.patched`` instead where running executions exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from pathlib import Path

from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.media.contracts import MediaJobRequest
from activities.media.keys import media_workflow_id
from tests.workflows.media.mocks import MockMediaActivities
from worker.devstack.temporal_server import test_server_binary
from workflows.media.workflow import MediaWorkflow

HERE = Path(__file__).parent
SCENARIOS = {
    "media_completed": MockMediaActivities(polls=3),
    "media_transcription_failed": MockMediaActivities(polls=2, transcription_failure="Unsupported audio format."),
}


async def main() -> None:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_binary())
    try:
        for name, mocks in SCENARIOS.items():
            queue = f"record-{uuid.uuid4()}"
            request = MediaJobRequest(
                job_id=f"{name.replace('_', '-')}-recorded",
                media_uri="s3://stepwise-media/demo/realtime-b2b.wav",
                language_code="en-US",
                target_languages=["es", "fr"],
            )
            async with Worker(env.client, task_queue=queue, workflows=[MediaWorkflow], activities=mocks.activities()):
                handle = await env.client.start_workflow(
                    MediaWorkflow.run, request, id=media_workflow_id(request.job_id), task_queue=queue
                )
                with contextlib.suppress(WorkflowFailureError):
                    await handle.result()
                history = await handle.fetch_history()
            (HERE / f"{name}.json").write_text(history.to_json())
            print(f"wrote {name}.json ({len(history.events)} events)")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
    # Leave without interpreter finalisation (the SDK's native threads may still be running).
    sys.stdout.flush()
    os._exit(0)
