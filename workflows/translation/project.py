"""TranslationProjectWorkflow: one customer's project, from dropped files to delivered XLIFF.

    collect        files arrive (one signal per S3 event); read once none has for settle_seconds
                   (files arriving later are listed in the status, not translated)
    preprocess     screen and read every file, quarantine the refused, find the language pairs
    pair:<s>-<t>   one TranslationPairWorkflow per pair, all at once; Translate's concurrent-job
                   quota is enforced fleet-wide by the pairs' job slots
    review         translator review gate (remind -> escalate): approve, or send back with a
                   comment -> the files are revised in staging and the next round opens
    deliver        staged files -> translation-outbound/, the customer's lifecycle rule, SNS

Workflow id ``translation-<customer>-<project>``: the same project dropped twice is one
project. Every file's content stays in S3; the history holds names and counts only, so a
project of hundreds of files costs a bounded history (a few events per pair).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.translation.policies as policies
    from activities.translation.contracts import (
        DELIVER,
        NOTHING_TO_TRANSLATE,
        PIPELINE,
        PREPROCESS,
        PROJECT_FAILED,
        SET_PROJECT_STATUS,
        DeliverInput,
        FileArrived,
        PairPlan,
        PairRequest,
        PairResult,
        Preprocessed,
        PreprocessInput,
        ProjectProgress,
        ProjectRequest,
        ProjectResult,
        ProjectStatusInput,
        pair_name,
        project_id,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import STEP_ERRORS, describe_failure
    from workflows.common.step_control import GateAnswer, StepControl, StepControlHandlers
    from workflows.translation.pair import TranslationPairWorkflow

FILE_ARRIVED_SIGNAL = "translation_file_arrived"
PROGRESS_QUERY = "translation_progress"
LATE_FILES_KEPT = 100
COLLECTED_MEMO = "collected"
"""Memo key set once the project has read its folder."""


class ProjectRefused(Exception):
    """Every file was refused into quarantine: the project fails, so it may be submitted again."""


@workflow.defn
class TranslationProjectWorkflow(StepControlHandlers):
    """A translation project: preprocess, one child per language pair, review, deliver."""

    @workflow.init
    def __init__(self, request: ProjectRequest) -> None:
        self.steps = StepControl(PIPELINE)
        self._request = request
        self._arrivals = 0
        self._last_arrival = workflow.now()
        self._late: list[str] = []
        self._status = "COLLECTING"
        self._pairs: list[str] = []
        self._round = 0
        self._reason: str | None = None

    @workflow.signal(name=FILE_ARRIVED_SIGNAL)
    def file_arrived(self, arrival: FileArrived) -> None:
        """A file landed in the project's folder: reading waits until they stop coming."""
        if self._status != "COLLECTING":
            if len(self._late) < LATE_FILES_KEPT and arrival.key not in self._late:
                self._late.append(arrival.key)
            return
        self._arrivals += 1
        self._last_arrival = workflow.now()

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> ProjectProgress:
        """Where the project is: status, files seen arriving, pairs, review round."""
        return ProjectProgress(
            self._status, self._arrivals, list(self._pairs), self._round, self._reason, list(self._late)
        )

    @workflow.run
    async def run(self, request: ProjectRequest) -> ProjectResult:
        async with at_exit(self.steps.settle):
            try:
                return await self._run(request)
            except ProjectRefused as refused:
                _projects_total("refused")
                raise ApplicationError(str(refused), type=NOTHING_TO_TRANSLATE, non_retryable=True) from None
            except STEP_ERRORS as error:  # an abort is an ApplicationError too
                raise await self._fail(error) from None

    async def _run(self, request: ProjectRequest) -> ProjectResult:
        await self._collect(request.settle_seconds)
        self._status = "PREPROCESSING"
        # Visible without a query (and without a worker): files sent from now on are too late.
        workflow.upsert_memo({COLLECTED_MEMO: True})
        found = await self.steps.run("preprocess", PREPROCESS, PreprocessInput(request), policy=policies.PREPROCESS)
        if not found.pairs:
            self._status = "REFUSED"
            self._reason = f"all {found.files} files were refused into quarantine; nothing to translate"
            raise ProjectRefused(self._reason)
        self._status = "TRANSLATING"
        self._pairs = [pair_name(plan.source_language, plan.target_language) for plan in found.pairs]
        translated = await self.steps.run_all([self._translate(request, plan) for plan in found.pairs])
        pairs = [pair for pair in translated if pair is not None]  # None: an operator skipped the pair
        approval = await self._review(request, found, pairs)
        self._status = "DELIVERING"
        await self.steps.run(
            "deliver", DELIVER, DeliverInput(request, found.pairs, approval.operator), policy=policies.DELIVER
        )
        totals = await self._set_status(
            "record_delivery", "DELIVERED", operator=approval.operator, comment=approval.reason
        )
        self._status = "DELIVERED"
        _projects_total("delivered")
        workflow.metric_meter().create_counter(
            "stepwise_translation_characters_total", "Characters translated by delivered projects"
        ).add(sum(pair.characters for pair in pairs))
        return self._result("DELIVERED", found, pairs, totals, reviewed_by=approval.operator)

    async def _collect(self, settle_seconds: float) -> None:
        """Wait until no file has arrived for ``settle_seconds`` (uploads of a project take a while).

        One timer to the quiet deadline at a time, not one per file: a project of hundreds of
        files costs a timer per settle period, plus one event per arrival.
        """
        settle = timedelta(seconds=settle_seconds)
        while (quiet_at := self._last_arrival + settle) > workflow.now():
            await workflow.sleep(quiet_at - workflow.now())

    async def _translate(self, request: ProjectRequest, plan: PairPlan) -> PairResult | None:
        pair = pair_name(plan.source_language, plan.target_language)
        return await self.steps.run_child(
            f"pair:{pair}",
            TranslationPairWorkflow.run,
            PairRequest(request, plan),
            id=f"{workflow.info().workflow_id}-{pair}",
            result_type=PairResult,
            progress=True,
        )

    async def _review(self, request: ProjectRequest, found: Preprocessed, pairs: list[PairResult]) -> GateAnswer:
        """Translator review, round after round until approved (bounded by ``max_review_rounds``)."""
        totals = await self._set_status("open_review", "IN_REVIEW")
        pid = project_id(request.customer, request.project)
        summary = "\n".join(
            f"  {pair_name(p.source_language, p.target_language)}: {p.segments} segments, {p.flagged} flagged "
            f"as machine translated, {p.characters} characters, ${p.cost}"
            + (f", {p.missing} untranslated" if p.missing else "")
            for p in pairs
        )
        for round in range(1, request.max_review_rounds + 1):
            self._round = round
            if round > 1:
                self._status = "CHANGES_REQUESTED"
            else:
                self._status = "IN_REVIEW"
            gate = "review" if round == 1 else f"review-{round}"
            answer = await self.steps.gate(
                gate,
                subject=f"[stepwise] translation {pid}: review requested (round {round})",
                body=(
                    f"Project {pid} is translated and staged in s3://{request.staging_bucket}/"
                    f"{request.customer}/{request.project}/ (${totals}):\n{summary}\n"
                    f"{len(found.quarantined)} file(s) quarantined.\n"
                    f"Decide with: stepwise decide translation-{pid} {gate} approve|reject "
                    "--operator NAME --reason TEXT"
                ),
                attention=request.review_attention,
                audience="translators",
            )
            if answer.approved:
                return answer
            await self._set_status(
                f"sent_back-{round}", "CHANGES_REQUESTED", operator=answer.operator, comment=answer.reason
            )
        raise ApplicationError(
            f"sent back {request.max_review_rounds} times without approval", type=PROJECT_FAILED, non_retryable=True
        )

    async def _set_status(self, step: str, status: str, *, operator: str = "", comment: str = "") -> str:
        change = ProjectStatusInput(self._request, status, operator=operator, comment=comment)
        totals = await self.steps.run(step, SET_PROJECT_STATUS, change, policy=policies.RECORD, progress=False)
        return totals.cost

    async def _fail(self, error: BaseException) -> ApplicationError:
        """Record the failure on the project row; the error the workflow fails with."""
        step = self._stopped_step()
        message = describe_failure(error).message
        self._status, self._reason = "FAILED", f"{step}: {message}"
        try:
            await self.steps.run(
                "record_failure",
                SET_PROJECT_STATUS,
                ProjectStatusInput(self._request, "FAILED", reason=self._reason),
                policy=policies.RECORD,
                progress=False,
            )
        except STEP_ERRORS as unrecorded:  # an operator may abort the recording itself
            workflow.logger.error("could not record the failure of %s: %s", workflow.info().workflow_id, unrecorded)
        _projects_total("failed")
        return ApplicationError(
            f"translation project {project_id(self._request.customer, self._request.project)} failed at {self._reason}",
            type=PROJECT_FAILED,
            non_retryable=True,
        )

    def _stopped_step(self) -> str:
        """Where the project stopped. The pairs run at once, each the current step while it runs, so
        the one that failed is found among the step records when a sibling finished after it."""
        step = self.steps.stopped_at()
        if step is not None:
            return step
        failed = [s.name for s in self.steps.status().steps if s.status in ("aborted", "failed")]
        return failed[0] if failed else self._status.lower()

    def _result(
        self, status: str, found: Preprocessed, pairs: list[PairResult], cost: str, *, reviewed_by: str = ""
    ) -> ProjectResult:
        return ProjectResult(
            project_id=project_id(self._request.customer, self._request.project),
            status=status,
            pairs=pairs,
            quarantined=len(found.quarantined),
            cost=cost,
            reviewed_by=reviewed_by,
        )


def _projects_total(outcome: str) -> None:
    workflow.metric_meter().create_counter(
        "stepwise_translation_projects_total", "Translation projects by outcome"
    ).add(1, {"outcome": outcome})
