"""Contracts of the reconciliation pipeline: one frozen dataclass in and out of every step."""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.common.contracts import ActivityRef, AttentionPolicy

PIPELINE = "recon"
PROVIDERS = ("local-postgres", "aws-ssm")
"""Where a version's environment runs: a database on Stepwise's own server, or an EC2 instance by SSM."""

# --- Error types ----------------------------------------------------------------------

INVALID_RECONCILIATION = "InvalidReconciliation"
"""The request or its provider options cannot work: an operator must look at it."""
OPERATION_PENDING = "OperationPending"
"""An environment operation is still running (retried: the retry-as-poll pattern)."""
OPERATION_FAILED = "OperationFailed"
"""An environment operation ended in failure."""
SNAPSHOT_INVALID = "SnapshotInvalid"
"""The snapshot could not be restored."""
REPORT_INVALID = "ReportInvalid"
"""A report's SQL or CSV is unusable."""

DEFAULT_ATTENTION = AttentionPolicy(remind_after_seconds=4 * 3600, escalate_after_seconds=24 * 3600)
"""Parked steps and the sign-off gate: remind after 4 h, escalate after a day, never decide alone."""


@dataclass(frozen=True)
class ReconciliationInput:
    """A request to prove a candidate version reports like the baseline (workflow input)."""

    client_id: str
    """The client whose reporting system migrates (lower-case letters, digits, dashes)."""
    baseline: str
    """Version in production, e.g. ``v1``."""
    candidate: str
    """Version to migrate to, e.g. ``v2``."""
    run: str
    """Run label; the workflow id is ``recon-<client>-<run>``."""
    snapshot_uri: str
    """``s3://bucket/key`` of the database snapshot (a plain-SQL dump) both versions restore."""
    report_packs_uri: str
    """``s3://bucket/prefix/``: ``<version>/pack.json`` and the report SQL files per version."""
    reports: list[str] = field(default_factory=list)
    """Reports to compare; empty means every report of the baseline's pack."""
    max_parallel_comparisons: int = 5
    """Comparisons in flight at most (the article's Map concurrency)."""
    max_parallel_reports: int = 5
    """Reports running at once in each environment."""
    tolerance: str = "0.005"
    """Largest absolute difference between two numbers still counted as equal (decimal string)."""
    signoff_required: bool = True
    """Wait for an operator's approve/reject at the end."""
    attention: AttentionPolicy = DEFAULT_ATTENTION
    """Remind/escalate/default policy of parked steps (default action: retry, skip or abort)."""
    signoff_attention: AttentionPolicy = DEFAULT_ATTENTION
    """Remind/escalate/default policy of the sign-off gate (default action: approve or reject)."""
    provider: str = "local-postgres"
    """Environment provider: one of :data:`PROVIDERS`."""
    provider_options: dict[str, str] = field(default_factory=dict)
    """Provider settings (``aws-ssm``: instance id, document names)."""


@dataclass(frozen=True)
class ReportSpec:
    """One report of a pack."""

    name: str
    """Report name, unique in the pack."""
    key_columns: list[str]
    """Columns identifying a row: how the comparison matches baseline and candidate rows."""
    sql_file: str = ""
    """File of the report's SQL inside the version's pack folder."""


@dataclass(frozen=True)
class PlanInput:
    """Which reports a run compares (``recon_plan`` input)."""

    report_packs_uri: str
    baseline: str
    candidate: str
    reports: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReconPlan:
    """The reports both versions run."""

    reports: list[ReportSpec]


@dataclass(frozen=True)
class EnvironmentRef:
    """One version's environment of one run."""

    provider: str
    """Provider name."""
    run_id: str
    """The reconciliation's workflow id."""
    version: str
    """Version the environment runs."""
    options: dict[str, str] = field(default_factory=dict)
    """Provider settings."""


@dataclass(frozen=True)
class EnvironmentInfo:
    """What provisioning produced."""

    environment_id: str
    """Provider's name for the environment (database name, automation target...)."""


@dataclass(frozen=True)
class RestoreInput:
    """Restore the snapshot into an environment."""

    environment: EnvironmentRef
    snapshot_uri: str


@dataclass(frozen=True)
class RestoreResult:
    """How much of the snapshot was applied."""

    statements: int
    """Statements in the snapshot (0 when the provider does not say)."""
    resumed_from: int
    """Statements already applied by an earlier attempt."""


@dataclass(frozen=True)
class RunReportInput:
    """Run one report in one environment and store its CSV."""

    environment: EnvironmentRef
    report_packs_uri: str
    report: ReportSpec


@dataclass(frozen=True)
class ReportOutput:
    """Where a report's CSV went."""

    report: str
    uri: str
    """``s3://`` URI under a deterministic key."""
    rows: int
    """Data rows written (-1 when the provider does not say)."""


@dataclass(frozen=True)
class CompareInput:
    """Compare one report's two CSVs."""

    run_id: str
    report: ReportSpec
    baseline_uri: str
    candidate_uri: str
    tolerance: str


@dataclass(frozen=True)
class CompareResult:
    """How one report compared (also persisted as a row)."""

    report: str
    status: str
    """``matched`` or ``different``."""
    matched: int
    missing: int
    """Rows in the baseline only."""
    extra: int
    """Rows in the candidate only."""
    changed: int
    """Rows present in both with at least one different value."""
    changed_columns: list[str] = field(default_factory=list)
    """Columns that differ in any row (or exist in one version only)."""
    diff_uri: str = ""
    """``s3://`` URI of the diff CSV ('' when nothing differs)."""


@dataclass(frozen=True)
class RunRecord:
    """The run's row in Postgres (``recon_record_run`` input)."""

    run_id: str
    client_id: str
    baseline: str
    candidate: str
    status: str
    signoff_by: str = ""
    signoff_reason: str = ""


@dataclass(frozen=True)
class CompareShare:
    """Several comparisons for one activity to run one after another (``recon_compare_share`` input)."""

    comparisons: list[CompareInput]


@dataclass(frozen=True)
class ComparisonFailed:
    """A comparison of a share that raised; the workflow runs it again as its own step."""

    report: str
    error_type: str
    message: str


@dataclass(frozen=True)
class ComparedShare:
    """What a share compared, and which of its reports failed."""

    results: list[CompareResult] = field(default_factory=list)
    failed: list[ComparisonFailed] = field(default_factory=list)


@dataclass(frozen=True)
class ReconFailure:
    """A run that failed (not aborted, not rejected): ``recon_record_failure`` input."""

    run_id: str
    client_id: str
    baseline: str
    candidate: str
    failed_step: str
    """The step (or phase) it failed in."""
    error_type: str
    reason: str


@dataclass(frozen=True)
class SkippedReport:
    """A report an operator skipped somewhere, and where."""

    report: str
    note: str


@dataclass(frozen=True)
class SummaryInput:
    """Summarise a run (``recon_summarise`` input)."""

    run_id: str
    client_id: str
    baseline: str
    candidate: str
    status: str
    """Status the run takes now (AWAITING_SIGNOFF or COMPLETED)."""
    skipped: list[SkippedReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Steps an operator skipped outside the reports (restore, teardown...)."""


@dataclass(frozen=True)
class RunSummary:
    """The run's totals and its summary artifacts."""

    reports_total: int
    matched: int
    different: int
    skipped: int
    markdown_uri: str
    csv_uri: str
    different_reports: list[str] = field(default_factory=list)

    @classmethod
    def nothing_summarised(cls) -> RunSummary:
        """The summary of a run whose summarise step was skipped without a substitute (older runs)."""
        return cls(reports_total=0, matched=0, different=0, skipped=0, markdown_uri="", csv_uri="")


@dataclass(frozen=True)
class EnvironmentInput:
    """One version's child workflow: provision, restore, run reports, tear down."""

    run_id: str
    version: str
    provider: str
    provider_options: dict[str, str]
    snapshot_uri: str
    report_packs_uri: str
    reports: list[ReportSpec]
    max_parallel_reports: int
    attention: AttentionPolicy


@dataclass(frozen=True)
class EnvironmentOutput:
    """The version's report CSVs, and what an operator skipped."""

    version: str
    outputs: list[ReportOutput]
    skipped: list[SkippedReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReconciliationResult:
    """How the reconciliation ended (workflow output)."""

    run_id: str
    outcome: str
    """``approved``, ``rejected`` or ``completed`` (no sign-off required)."""
    summary: RunSummary
    signoff_by: str = ""
    signoff_reason: str = ""


@dataclass(frozen=True)
class ReconciliationStatus:
    """The run's progress (query result)."""

    run_id: str
    phase: str
    """planning, environments, comparing, summarising, awaiting-signoff, done, aborted."""
    reports_total: int = 0
    compared: int = 0
    different_reports: list[str] = field(default_factory=list)
    summary: RunSummary | None = None


@dataclass(frozen=True)
class CampaignInput:
    """Reconcile many clients with bounded parallelism (campaign workflow input)."""

    campaign: str
    """Campaign label; the workflow id is ``recon-campaign-<campaign>``."""
    runs: list[ReconciliationInput]
    """One reconciliation per client."""
    max_parallel: int = 10
    """Reconciliations running at once."""


@dataclass(frozen=True)
class CampaignResult:
    """Outcome per client run id."""

    outcomes: dict[str, str]


# --- Activities: registered name, input, output ----------------------------------------

PLAN = ActivityRef("recon_plan", PlanInput, ReconPlan)
"""Read the report pack and decide which reports run."""
RECORD_RUN = ActivityRef("recon_record_run", RunRecord, type(None))
"""The run's row in Postgres."""
PROVISION = ActivityRef("recon_provision", EnvironmentRef, EnvironmentInfo)
"""One version's environment."""
RESTORE = ActivityRef("recon_restore", RestoreInput, RestoreResult)
"""Restore the snapshot into it."""
RUN_REPORT = ActivityRef("recon_run_report", RunReportInput, ReportOutput)
"""Run one report, its CSV to S3."""
TEARDOWN = ActivityRef("recon_teardown", EnvironmentRef, type(None))
"""Remove the environment."""
COMPARE = ActivityRef("recon_compare", CompareInput, CompareResult)
"""Compare one report's two CSVs."""
SUMMARISE = ActivityRef("recon_summarise", SummaryInput, RunSummary)
"""The run's summary (CSV and Markdown) and its row."""

COMPARE_SHARE = ActivityRef("recon_compare_share", CompareShare, ComparedShare)
"""Compare several reports one after another (one lane's share of a large fan-out)."""
RECORD_FAILURE = ActivityRef("recon_record_failure", ReconFailure, type(None))
"""A failed run: FAILED in Postgres, its story to the reconciliation dead-letter queue."""

ACTIVITIES = (
    PLAN,
    RECORD_RUN,
    PROVISION,
    RESTORE,
    RUN_REPORT,
    TEARDOWN,
    COMPARE,
    COMPARE_SHARE,
    SUMMARISE,
    RECORD_FAILURE,
)
"""Every activity of the pipeline (the worker's catalog registers exactly these)."""
