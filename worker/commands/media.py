"""`stepwise media start | status`: transcribe a media file and translate the transcript."""

from __future__ import annotations

import contextlib
import sys
import uuid
from typing import Annotated

import typer
from temporalio.client import Client, WorkflowFailureError

from activities.common.aws import AwsClients
from activities.common.db import create_engine, create_session_maker
from activities.common.resources import Resources
from activities.media.contracts import DEFAULT_MAX_WAIT_SECONDS, DEFAULT_POLL_INTERVAL_SECONDS, MediaJobRequest
from worker.commands.common import CliError, print_json, run, settings
from worker.commands.follow import EXIT_PARKED, follow
from worker.services import media
from worker.settings import namespace_refusal
from worker.temporal import FAIL_FAST, connect

app = typer.Typer(help="Media jobs: Transcribe, then Translate into each target language.", no_args_is_help=True)

# How each request field is spelled on the command line, for one-line errors.
OPTION_NAMES = {
    "job_id": "--job-id",
    "media_uri": "MEDIA_URI",
    "language": "--language",
    "targets": "--to",
    "poll_interval_seconds": "--poll-interval",
    "max_wait_seconds": "--max-wait",
}


@app.command()
def start(
    media_uri: Annotated[str, typer.Argument(help="s3://bucket/key of the audio or video file.")],
    language: Annotated[str, typer.Option(help="Transcribe language code of the speech, e.g. en-US.")],
    to: Annotated[list[str], typer.Option("--to", help="Translate language code; repeat for several.")],
    job_id: Annotated[
        str | None, typer.Option(help="Job id (default: a new one); the same id finds the same job.")
    ] = None,
    poll_interval: Annotated[float, typer.Option(help="Seconds between transcription checks.")] = (
        DEFAULT_POLL_INTERVAL_SECONDS
    ),
    max_wait: Annotated[float, typer.Option(help="Seconds the transcription may take.")] = DEFAULT_MAX_WAIT_SECONDS,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the job to end.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Start a media job; with --wait, show its step, print its outcome and exit non-zero if it failed.

    Exit codes: 0 started (with --wait: completed), 1 an error or a failed job, 5 a step waits
    for an operator (--wait; the step, its error and the `stepwise decide` command are printed).
    """
    request = MediaJobRequest(
        job_id=job_id or str(uuid.uuid4()),
        media_uri=media_uri,
        language_code=language,
        target_languages=list(to),
        poll_interval_seconds=poll_interval,
        max_wait_seconds=max_wait,
    )
    view = run(_start(request, wait))
    _show(view, as_json)
    if view.status == "FAILED" or (wait and view.status != "COMPLETED"):
        raise typer.Exit(1)


@app.command()
def status(
    job_id: Annotated[str, typer.Argument(help="Media job id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a media job's step, transcript and translations, or why it failed."""
    _show(run(_status(job_id)), as_json)


async def _start(request: MediaJobRequest, wait: bool) -> media.MediaJobView:
    config = settings()
    aws = AwsClients()
    try:
        # Checked before connecting, so a bad request fails fast even with Temporal down.
        media.check_request(request)
        refusal = namespace_refusal(request.job_id, config.api.partner_token_hashes)
        if refusal is not None:  # the CLI acts as an operator, whose ids stay out of partners' namespaces
            raise media.MediaRequestInvalid("job_id", refusal)
        # The CLI acts as an operator: the operator's input locations apply, as at the API.
        allowed = media.input_locations(config.media, Resources(prefix=config.aws.name_prefix), None)
        media.check_media_location(request.media_uri, allowed)
        await media.check_media_exists(aws, request.media_uri)
        client = await _client()
        submitted = await media.start_media_job(client, config.worker.task_queue, request)
    except media.MediaRequestInvalid as error:
        raise CliError(f"{OPTION_NAMES.get(error.field, error.field)}: {error.message}") from None
    except media.MediaJobConflict as conflict:
        raise CliError(str(conflict)) from None
    if wait:
        parked = await follow(client, submitted.workflow_id)
        if parked is not None:
            parked.report(sys.stderr)
            raise typer.Exit(EXIT_PARKED)
        # A failed job raises here; its outcome is read back from the job's record below.
        with contextlib.suppress(WorkflowFailureError):
            await client.get_workflow_handle(submitted.workflow_id).result()
    return await _view(client, request.job_id)


async def _status(job_id: str) -> media.MediaJobView:
    return await _view(await _client(), job_id)


async def _view(client: Client, job_id: str) -> media.MediaJobView:
    engine = create_engine(settings().require_database_url(), pool_size=1)
    try:
        return await media.media_job_status(client, create_session_maker(engine), job_id)
    except media.MediaJobNotFound as missing:
        raise CliError(str(missing)) from None
    finally:
        await engine.dispose()


async def _client() -> Client:
    try:
        return await connect(settings(), retry=FAIL_FAST)
    except ConnectionError as error:
        raise CliError(str(error)) from None


def _show(view: media.MediaJobView, as_json: bool) -> None:
    if as_json:
        print_json(view.as_dict())
        return
    typer.echo(f"media job {view.job_id}: {view.status}")
    if view.current_step:
        attempt = f" (poll {view.poll_attempt})" if view.poll_attempt else ""
        typer.echo(f"  running     {view.current_step}{attempt}")
    if view.completed_steps:
        typer.echo(f"  completed   {', '.join(view.completed_steps)}")
    if view.failure_reason:
        typer.echo(f"  failed at   {view.failed_step}: {view.failure_reason}")
    if view.transcript_uri:
        typer.echo(f"  transcript  {view.transcript_uri} ({view.polls} polls)")
    for translation in view.translations:
        typer.echo(
            f"  {translation['language']:<11} {translation['text_uri']} "
            f"({translation['machine_translated_segments']}/{translation['segments']} segments machine-translated)"
        )
