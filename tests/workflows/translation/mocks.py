"""Name-matched stand-ins for the translation activities, for workflow-logic tests on the time-skipping server.

``MockTranslation`` plays the project's bucket, Amazon Translate's batch jobs, the fleet's
job slots and the project's Postgres rows, and records every call. Its switches:

* ``pairs``: the language pairs preprocessing finds (none: every file was quarantined);
* ``incomplete``: pair -> how many of its jobs drop segments. 1: the first job's output
  misses units and the resubmission (``-r1``) completes them; 2: the resubmission misses
  them too, and the verify step finds them still missing (until ``filled_by_hand`` names
  the pair, as translators filling the units in staging would);
* ``failed_jobs``: pairs whose job Translate ends FAILED (``await_job`` raises a
  non-retryable ``TranslationJobFailed``);
* ``slot_waits``: how many tries of each ``acquire_slot`` find every slot taken (the benign
  ``NoTranslateSlot``), and ``job_polls``: how many polls of each job find it still running
  (the benign ``TranslationJobNotDone``): the retry-as-poll steps, with the real errors.

Step control's own activities (the decision audit, the attention notice) are stood in for
as well, since the review gate notifies and every decision is audited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.common.contracts import (
    NOTIFY_ATTENTION,
    RECORD_DECISION,
    AttentionNotice,
    DecisionAudit,
)
from activities.translation.contracts import (
    ACQUIRE_SLOT,
    ACTIVITIES,
    AWAIT_JOB,
    AWAIT_PARALLEL_DATA,
    CREATE_PARALLEL_DATA,
    DELIVER,
    IMPORT_TERMINOLOGY,
    JOB_FAILED,
    JOB_NOT_DONE,
    NO_TRANSLATE_SLOT,
    NOTIFY_PAIR,
    POST_PROCESS,
    PREPARE_JOB,
    PREPROCESS,
    RECORD_PAIR,
    RELEASE_SLOT,
    SEGMENTS_MISSING,
    SET_PROJECT_STATUS,
    START_JOB,
    VERIFY_PAIR,
    AwaitJobInput,
    Delivered,
    DeliverInput,
    GlossaryImported,
    GlossaryInput,
    JobDone,
    JobPrefixes,
    JobStarted,
    PairNotice,
    PairPlan,
    PairRecord,
    PairRecorded,
    PostProcessed,
    PostProcessInput,
    PrepareJobInput,
    Preprocessed,
    PreprocessInput,
    ProjectStatusInput,
    ProjectTotals,
    QuarantinedFile,
    SlotHeld,
    SlotRequest,
    StartJobInput,
    VerifyInput,
    pair_name,
    project_id,
)
from activities.translation.costs import cost_of, price
from activities.translation.keys import ProjectKeys
from tests.support.mocks import covering, mock_activity, step_control_mocks

FILES = ["guide.xlf", "ui.xlf"]
"""The XLIFF files of every pair."""
GLOSSARY = "terminology/glossary.csv"
SEGMENTS_PER_FILE = 12
CHARACTERS_PER_FILE = 1_500
MISSING_PER_FILE = 3
"""Units a job that drops segments leaves out of each incomplete file."""
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Call:
    """One activity call: its name, the pair it was for (``""`` for the project's) and its input."""

    activity: str
    pair: str
    arg: Any


@dataclass
class MockTranslation:
    """A project's files, Translate, the job slots and the rows, recording every call."""

    pairs: list[tuple[str, str]] = field(default_factory=lambda: [("en", "es"), ("en", "fr")])
    incomplete: dict[str, int] = field(default_factory=dict)
    failed_jobs: set[str] = field(default_factory=set)
    filled_by_hand: set[str] = field(default_factory=set)
    slot_waits: int = 0
    job_polls: int = 0

    calls: list[Call] = field(default_factory=list)
    """One per first attempt, in the order they started."""
    attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Attempts of every activity, by (activity, pair)."""
    records: list[PairRecord] = field(default_factory=list)
    statuses: list[ProjectStatusInput] = field(default_factory=list)
    pair_notices: list[PairNotice] = field(default_factory=list)
    audits: list[DecisionAudit] = field(default_factory=list)
    notices: list[AttentionNotice] = field(default_factory=list)
    slots: set[str] = field(default_factory=set)
    """Holders of a job slot now."""
    _jobs: dict[str, JobStarted] = field(default_factory=dict)
    """Jobs by client token."""
    _outputs: dict[str, str] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict)
    _failed_names: list[str] = field(default_factory=list)
    """Output prefixes by job id."""

    def names(self, pair: str | None = None) -> list[str]:
        """Activity names of the calls (of one pair's, or of the project's with ``""``), in order."""
        return [call.activity for call in self.calls if pair is None or call.pair == pair]

    def called(self, name: str, pair: str | None = None) -> list[Any]:
        """The inputs of every call of activity ``name`` (for one pair), in order."""
        return [call.arg for call in self.calls if call.activity == name and (pair is None or call.pair == pair)]

    def _enter(self, name: str, pair: str, arg: Any) -> int:
        info = activity.info()
        self.attempts[(name, pair)] += 1
        if info.attempt == 1:
            self.calls.append(Call(name, pair, arg))
        return info.attempt

    def plan(self, source: str, target: str) -> PairPlan:
        """The plan preprocessing finds for a pair: every file, the glossary covering both languages."""
        return PairPlan(
            source_language=source,
            target_language=target,
            files=list(FILES),
            segments=SEGMENTS_PER_FILE * len(FILES),
            characters=CHARACTERS_PER_FILE * len(FILES),
            terminology=[GLOSSARY],
        )

    def _post_processed(self, job: PostProcessInput) -> PostProcessed:
        """As the real post-processing counts: a file with units missing is staged (and counted)
        only by the resubmission's post-processing."""
        round = 1 if job.stage_incomplete else 0
        dropped = job.files[:1] if self.incomplete.get(_pair(job.plan), 0) > round else []
        missing = MISSING_PER_FILE * len(dropped)
        staged = job.files if job.stage_incomplete else [name for name in job.files if name not in dropped]
        segments = SEGMENTS_PER_FILE * len(staged)
        flagged = segments - (missing if job.stage_incomplete else 0)
        return PostProcessed(segments, flagged, dropped, missing)

    def activities(self) -> list[Callable[..., Any]]:
        """The activity functions to register (the translation pipeline's and step control's)."""

        @mock_activity(PREPROCESS)
        async def preprocess(request: PreprocessInput) -> Preprocessed:
            self._enter(PREPROCESS.name, "", request)
            if not self.pairs:
                refused = [QuarantinedFile(name, "not an XLIFF 1.2 or 2.x document") for name in FILES]
                return Preprocessed(pairs=[], quarantined=refused, files=len(FILES))
            plans = [self.plan(source, target) for source, target in self.pairs]
            return Preprocessed(pairs=plans, quarantined=[], files=len(FILES) + 1)

        @mock_activity(IMPORT_TERMINOLOGY)
        async def import_terminology(glossary: GlossaryInput) -> GlossaryImported:
            pair = _pair(glossary.plan)
            self._enter(IMPORT_TERMINOLOGY.name, pair, glossary)
            return GlossaryImported(f"{project_id(glossary.request.customer, glossary.request.project)}-{pair}")

        @mock_activity(CREATE_PARALLEL_DATA)
        async def create_parallel_data(glossary: GlossaryInput) -> GlossaryImported:
            pair = _pair(glossary.plan)
            self._enter(CREATE_PARALLEL_DATA.name, pair, glossary)
            return GlossaryImported(f"{project_id(glossary.request.customer, glossary.request.project)}-{pair}-tm")

        @mock_activity(AWAIT_PARALLEL_DATA)
        async def await_parallel_data(created: GlossaryImported) -> GlossaryImported:
            self._enter(AWAIT_PARALLEL_DATA.name, created.name, created)
            return created

        @mock_activity(PREPARE_JOB)
        async def prepare_job(job: PrepareJobInput) -> JobPrefixes:
            self._enter(PREPARE_JOB.name, _pair(job.plan), job)
            keys = ProjectKeys(job.request.customer, job.request.project)
            source, target = job.plan.source_language, job.plan.target_language
            return JobPrefixes(
                input_uri=f"s3://{job.request.bucket}/{keys.job_input(source, target, job.round)}",
                output_uri=f"s3://{job.request.bucket}/{keys.job_output(source, target, job.round)}",
            )

        @mock_activity(ACQUIRE_SLOT)
        async def acquire_slot(slot: SlotRequest) -> SlotHeld:
            if self._enter(ACQUIRE_SLOT.name, _holder_pair(slot), slot) <= self.slot_waits:
                raise ApplicationError(
                    f"all {slot.limit} Translate job slots are taken",
                    type=NO_TRANSLATE_SLOT,
                    category=ApplicationErrorCategory.BENIGN,
                )
            self.slots.add(slot.holder)
            return SlotHeld(in_use=len(self.slots))

        @mock_activity(RELEASE_SLOT)
        async def release_slot(slot: SlotRequest) -> None:
            self._enter(RELEASE_SLOT.name, _holder_pair(slot), slot)
            self.slots.discard(slot.holder)

        @mock_activity(START_JOB)
        async def start_job(job: StartJobInput) -> JobStarted:
            self._enter(START_JOB.name, _pair(job.plan), job)
            # Idempotent by the job's name (pair and round), unless the job of that name failed.
            key = f"{job.job_name}#{self._failed_names.count(job.job_name)}"
            started = self._jobs.setdefault(key, JobStarted(f"{len(self._jobs) + 1:032x}"))
            self._names[started.job_id] = job.job_name
            self._outputs[started.job_id] = job.prefixes.output_uri
            return started

        @mock_activity(AWAIT_JOB)
        async def await_job(job: AwaitJobInput) -> JobDone:
            if self._enter(AWAIT_JOB.name, job.pair, job) <= self.job_polls:
                raise ApplicationError(
                    f"Translate job {job.job_id} is IN_PROGRESS",
                    type=JOB_NOT_DONE,
                    category=ApplicationErrorCategory.BENIGN,
                )
            if job.pair in self.failed_jobs:
                self._failed_names.append(self._names[job.job_id])
                reason = "The input data could not be read: access denied to the input prefix"
                raise ApplicationError(
                    f"Translate job {job.job_id} for {job.pair} ended FAILED: {reason}",
                    {"status": "FAILED", "message": reason},
                    type=JOB_FAILED,
                    non_retryable=True,
                )
            return JobDone(job.job_id, f"{self._outputs[job.job_id]}{ACCOUNT}-TranslateText-{job.job_id}/")

        @mock_activity(POST_PROCESS)
        async def post_process(job: PostProcessInput) -> PostProcessed:
            self._enter(POST_PROCESS.name, _pair(job.plan), job)
            return self._post_processed(job)

        @mock_activity(VERIFY_PAIR)
        async def verify_pair(check: VerifyInput) -> PostProcessed:
            pair = _pair(check.plan)
            self._enter(VERIFY_PAIR.name, pair, check)
            if pair not in self.filled_by_hand:
                raise ApplicationError(
                    f"{pair}: {MISSING_PER_FILE} segment(s) of {check.plan.files[0]} still untranslated",
                    type=SEGMENTS_MISSING,
                    non_retryable=True,
                )
            return PostProcessed(check.plan.segments, 0, [], 0)

        @mock_activity(RECORD_PAIR)
        async def record_pair(record: PairRecord) -> PairRecorded:
            self._enter(RECORD_PAIR.name, _pair(record.plan), record)
            self.records.append(record)
            return PairRecorded(_cost(record) if record.state == "STAGED" else "0.00")

        @mock_activity(NOTIFY_PAIR)
        async def notify_pair(notice: PairNotice) -> None:
            result = notice.result
            self._enter(NOTIFY_PAIR.name, pair_name(result.source_language, result.target_language), notice)
            self.pair_notices.append(notice)

        @mock_activity(SET_PROJECT_STATUS)
        async def set_project_status(change: ProjectStatusInput) -> ProjectTotals:
            self._enter(SET_PROJECT_STATUS.name, "", change)
            self.statuses.append(change)
            staged = {_pair(r.plan): r for r in self.records if r.state == "STAGED"}
            characters = sum(r.plan.characters for r in staged.values())
            return ProjectTotals(characters, str(sum((price(_cost(r)) for r in staged.values()), Decimal("0.00"))))

        @mock_activity(DELIVER)
        async def deliver(delivery: DeliverInput) -> Delivered:
            self._enter(DELIVER.name, "", delivery)
            keys = ProjectKeys(delivery.request.customer, delivery.request.project)
            return Delivered(sum(len(plan.files) for plan in delivery.pairs), keys.outbound)

        return covering(
            [*ACTIVITIES, RECORD_DECISION, NOTIFY_ATTENTION],
            [
                preprocess,
                import_terminology,
                create_parallel_data,
                await_parallel_data,
                prepare_job,
                acquire_slot,
                release_slot,
                start_job,
                await_job,
                post_process,
                verify_pair,
                record_pair,
                notify_pair,
                set_project_status,
                deliver,
                *step_control_mocks(self.audits, self.notices),
            ],
        )


def _pair(plan: PairPlan) -> str:
    return pair_name(plan.source_language, plan.target_language)


def _holder_pair(slot: SlotRequest) -> str:
    """The pair of a slot's holder (the pair's workflow id ends ``-<src>-<tgt>``)."""
    return "-".join(slot.holder.rsplit("-", 2)[1:])


def _cost(record: PairRecord) -> str:
    pricing = record.request.pricing
    return str(cost_of(record.plan.characters, price(pricing.custom if record.custom else pricing.standard)))
