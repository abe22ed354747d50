"""TranslationPairWorkflow: one language pair of a project, from its files to staged, flagged XLIFF.

    import_terminology / create_parallel_data -> await_parallel_data   when the project brought them
    prepare_job -> acquire_slot -> start_job -> await_job -> release_slot
    post_process          verify every trans-unit, flag machine translations, stage
      segments missing -> the incomplete files again: prepare_job-r1 ... post_process-r1
        still missing  -> verify parks (retry re-checks, skip accepts, abort fails the pair)
    notify_pair           SNS: the pair is staged for review

A slot of Translate's concurrent-job quota (shared by the fleet, :mod:`activities.translation.jobs`)
is held only while a job runs. A job is named after this workflow and its round, and starting
is idempotent by that name: a start retried or replayed after the worker died returns the job
already started, and an operator's retry of a pair whose job FAILED starts a fresh one.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.translation.policies as policies
    from activities.translation.contracts import (
        ACQUIRE_SLOT,
        AWAIT_JOB,
        AWAIT_PARALLEL_DATA,
        CREATE_PARALLEL_DATA,
        IMPORT_TERMINOLOGY,
        JOB_FAILED,
        NOTIFY_PAIR,
        PIPELINE,
        POST_PROCESS,
        PREPARE_JOB,
        RECORD_PAIR,
        RELEASE_SLOT,
        START_JOB,
        VERIFY_PAIR,
        AwaitJobInput,
        GlossaryInput,
        JobDone,
        PairNotice,
        PairPlan,
        PairRecord,
        PairRequest,
        PairResult,
        PostProcessed,
        PostProcessInput,
        PrepareJobInput,
        SlotRequest,
        StartJobInput,
        VerifyInput,
        pair_name,
        project_id,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import STEP_ERRORS, describe_failure
    from workflows.common.step_control import StepControl, StepControlHandlers


@workflow.defn
class TranslationPairWorkflow(StepControlHandlers):
    """Translate one language pair of a project with Amazon Translate batch jobs."""

    @workflow.init
    def __init__(self, request: PairRequest) -> None:
        self.steps = StepControl(PIPELINE)
        self._request = request
        self._jobs: list[str] = []
        self._terminology: str | None = None
        self._parallel_data: str | None = None
        self._document_errors: list[str] = []

    @workflow.run
    async def run(self, request: PairRequest) -> PairResult:
        async with at_exit(self.steps.settle):
            try:
                return await self._translate(request.plan)
            except STEP_ERRORS as error:
                reason = describe_failure(error).message
                await self._record("FAILED", reason=reason)
                raise ApplicationError(
                    f"{pair_name(request.plan.source_language, request.plan.target_language)}: {reason}",
                    type=describe_failure(error).error_type or JOB_FAILED,
                    non_retryable=True,
                ) from None

    async def _translate(self, plan: PairPlan) -> PairResult:
        await self._import_glossaries(plan)
        first = await self._post_process(0, plan.files, await self._job(0, plan.files))
        segments, flagged, missing = first.segments, first.flagged, first.missing_segments
        billed = plan.characters
        if first.incomplete_files:
            # Translate dropped segments or failed documents: the incomplete files go once more, alone.
            files = first.incomplete_files
            billed += first.incomplete_characters  # Translate bills the second job too
            again = await self._post_process(1, files, await self._job(1, files))
            segments, flagged, missing = segments + again.segments, flagged + again.flagged, again.missing_segments
            if again.incomplete_files:
                check = VerifyInput(self._request.request, plan, document_errors=list(self._document_errors))
                verified = await self.steps.run_optional("verify", VERIFY_PAIR, check, policy=policies.VERIFY)
                if verified is not None:  # completed by hand in staging, then retried
                    segments, missing = verified.segments, 0
        recorded = await self._record("STAGED", segments=segments, flagged=flagged, missing=missing, billed=billed)
        result = PairResult(
            source_language=plan.source_language,
            target_language=plan.target_language,
            segments=segments,
            flagged=flagged,
            characters=plan.characters,
            cost=recorded,
            jobs=list(self._jobs),
            missing=missing,
            billed_characters=billed,
        )
        await self.steps.run(
            "notify_pair", NOTIFY_PAIR, PairNotice(self._request.request, result), policy=policies.RECORD
        )
        return result

    async def _import_glossaries(self, plan: PairPlan) -> None:
        glossary = GlossaryInput(self._request.request, plan)
        if plan.terminology:
            imported = await self.steps.run(
                "import_terminology", IMPORT_TERMINOLOGY, glossary, policy=policies.GLOSSARY
            )
            self._terminology = imported.name
        if plan.memory:
            created = await self.steps.run(
                "create_parallel_data", CREATE_PARALLEL_DATA, glossary, policy=policies.GLOSSARY
            )
            # A job may only name parallel data that is ACTIVE (creating one takes minutes).
            ready = await self.steps.run(
                "await_parallel_data",
                AWAIT_PARALLEL_DATA,
                created,
                policy=policies.parallel_data_poll(timedelta(seconds=self._request.request.poll_seconds)),
            )
            self._parallel_data = ready.name

    async def _job(self, round: int, files: list[str]) -> JobDone:
        """One batch job over ``files``: prepare its prefix, hold a slot while it runs."""
        project, plan = self._request.request, self._request.plan
        suffix = f"-r{round}" if round else ""
        prefixes = await self.steps.run(
            f"prepare_job{suffix}",
            PREPARE_JOB,
            PrepareJobInput(project, plan, round, files),
            policy=policies.PREPARE_JOB,
        )
        info = workflow.info()
        slot = SlotRequest(info.workflow_id, project_id(project.customer, project.project), project.max_pairs_in_flight)
        await self._record("WAITING_FOR_SLOT")
        await self.steps.run(
            f"acquire_slot{suffix}",
            ACQUIRE_SLOT,
            slot,
            policy=policies.slot_poll(timedelta(seconds=project.poll_seconds)),
        )
        # The slot is released however the job ends.
        async with at_exit(
            lambda: self.steps.run(
                f"release_slot{suffix}", RELEASE_SLOT, slot, policy=policies.RELEASE_SLOT, progress=False
            )
        ):
            started = await self.steps.run(
                f"start_job{suffix}",
                START_JOB,
                StartJobInput(
                    request=project,
                    plan=plan,
                    prefixes=prefixes,
                    job_name=f"{info.workflow_id}{suffix}",
                    terminology=self._terminology,
                    parallel_data=self._parallel_data,
                ),
                policy=policies.START_JOB,
            )
            self._jobs.append(started.job_id)
            await self._record("TRANSLATING")
            done = await self.steps.run(
                f"await_job{suffix}",
                AWAIT_JOB,
                AwaitJobInput(
                    project_id(project.customer, project.project),
                    pair_name(plan.source_language, plan.target_language),
                    started.job_id,
                ),
                policy=policies.job_poll(
                    timedelta(seconds=project.poll_seconds), timedelta(seconds=project.max_job_seconds)
                ),
            )
            self._document_errors.extend(done.document_errors)
            return done

    async def _post_process(self, round: int, files: list[str], job: JobDone) -> PostProcessed:
        suffix = f"-r{round}" if round else ""
        request = PostProcessInput(
            self._request.request, self._request.plan, job, files, round=round, stage_incomplete=round > 0
        )
        return await self.steps.run(f"post_process{suffix}", POST_PROCESS, request, policy=policies.POST_PROCESS)

    async def _record(
        self,
        state: str,
        *,
        segments: int = 0,
        flagged: int = 0,
        missing: int = 0,
        billed: int = 0,
        reason: str | None = None,
    ) -> str:
        """The pair's row (state, jobs, counts, cost); returns the cost once staged."""
        record = PairRecord(
            request=self._request.request,
            plan=self._request.plan,
            state=state,
            jobs=list(self._jobs),
            segments=segments,
            flagged=flagged,
            missing=missing,
            billed_characters=billed,
            custom=self._parallel_data is not None,
            reason=reason,
        )
        step = f"record_{state.lower()}-{len(self._jobs)}"
        recorded = await self.steps.run(step, RECORD_PAIR, record, policy=policies.RECORD, progress=False)
        return recorded.cost
