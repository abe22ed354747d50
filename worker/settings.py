"""Stepwise's configuration, read once at start-up from the environment.

Every Stepwise setting is ``STEPWISE_<GROUP>__<NAME>`` (for example
``STEPWISE_WORKER__TASK_QUEUE``); the Postgres URL keeps the short name
``STEPWISE_DATABASE_URL``. Temporal's connection follows Temporal's own
environment conventions (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``,
``TEMPORAL_API_KEY``, ``TEMPORAL_TLS_*``) so the same variables work for the
Temporal CLI and for Stepwise. AWS is configured only through boto3's standard
chain (``AWS_REGION``, ``AWS_ENDPOINT_URL``, credentials...).

A wrong value fails at start-up with :class:`SettingsError`, whose message is one
line naming the variable.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import string
from collections.abc import Collection
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, get_origin

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError as UnreadableVariable


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class TemporalSettings(BaseSettings):
    """Connection to the Temporal cluster, named as Temporal's env-config names it."""

    model_config = SettingsConfigDict(env_prefix="TEMPORAL_", extra="ignore")

    address: str = Field(default="127.0.0.1:7233", pattern=r"^[^\s:]+:\d{1,5}$")
    """host:port of the Temporal frontend."""
    namespace: str = Field(default="default", min_length=1)
    """Namespace all Stepwise workflows run in."""
    api_key: SecretStr | None = None
    """Temporal Cloud API key; implies TLS."""
    tls: bool = False
    """Use TLS without client certificates (server CA from the system store)."""
    tls_client_cert_path: Path | None = None
    """mTLS client certificate (PEM)."""
    tls_client_key_path: Path | None = None
    """mTLS client key (PEM)."""
    tls_server_ca_cert_path: Path | None = None
    """CA certificate that signed the server's certificate (PEM)."""
    tls_server_name: str | None = None
    """Server name to verify the certificate against (SNI)."""


class WorkerSettings(BaseModel):
    """How the worker process polls and shuts down."""

    task_queue: str = Field(default="stepwise", min_length=1)
    """Task queue every Stepwise workflow and activity runs on."""
    graceful_shutdown_seconds: float = Field(default=30.0, ge=0)
    """How long running activities get to finish after SIGTERM."""
    max_concurrent_activities: int = Field(default=100, ge=1)
    """Activity slots per worker."""
    max_concurrent_workflow_tasks: int = Field(default=100, ge=1)
    """Workflow task slots per worker."""
    health_port: int = Field(default=8081, ge=0, le=65535)
    """Port of the worker's /healthz and /readyz (0 picks a free port)."""
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    """Port of the worker's Prometheus /metrics endpoint."""
    host: str = "127.0.0.1"
    """Interface the health and metrics endpoints bind to (0.0.0.0 in a pod)."""
    sdk_speedups: bool = True
    """The worker's speed-ups on SDK internals (``worker.speedups``); false runs Temporal's stock sandbox runner."""


PARTNER_ID_PATTERN = r"^[a-z0-9][a-z0-9_]{0,39}$"
"""A partner id: safe in a URL path, and never containing the ``.`` that scopes a partner's ids
nor the ``-`` that ends the partner's part of an id built from it (a B2B transaction's
``b2b-<partner>-<TransactionID>``, a translation project's ``<customer>-<project>``): with a
``-`` allowed, partner ``acme`` sending ``eu-1`` and partner ``acme-eu`` sending ``1`` would be
one transaction."""


def partner_namespace(identifier: str, partners: Collection[str]) -> str | None:
    """The configured partner whose namespace ``identifier`` is in (``acme`` for ``acme.SHP-1``), or None."""
    prefix, dot, _ = identifier.partition(".")
    return prefix if dot and prefix in partners else None


def namespace_refusal(identifier: str, partners: Collection[str]) -> str | None:
    """Why an operator may not choose ``identifier`` (it lies in a partner's namespace), or None.

    The record would be owned by nobody, out of the partner's reach, and the partner's own id
    would collide with it."""
    partner = partner_namespace(identifier, partners)
    return None if partner is None else f"ids starting '{partner}.' are partner {partner}'s: choose another id"


LONGEST_WAIT_SECONDS = 366 * 86400
"""A year and a day: the longest delay or age Stepwise accepts anywhere (a reminder, an escalation,
a default action, a filter's age). Each delay becomes a workflow timer, which must be buildable."""
MAX_WAIT_HOURS = LONGEST_WAIT_SECONDS // 3600
"""The longest reminder or escalation delay a setting may give, in the settings' hours."""


OPERATOR_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"
"""An operator's name as audited: printable, no spaces, at most 64 characters."""


class ApiSettings(BaseModel):
    """The HTTP API process."""

    host: str = "127.0.0.1"
    """Interface the API binds to."""
    port: int = Field(default=8000, ge=0, le=65535)
    """Port the API listens on."""
    operators: dict[Annotated[str, Field(pattern=OPERATOR_NAME_PATTERN)], str] = Field(default_factory=dict)
    """Operator name -> SHA-256 hex digest of that operator's token; decisions are audited under the name."""
    operator_token_hashes: list[str] = Field(default_factory=list)
    """Deprecated, still honoured: unnamed operator token digests. Each is audited as
    ``operator-<first 8 hex digits of its digest>``; prefer :attr:`operators`."""
    session_secret: SecretStr = SecretStr("")
    """Key signing the console's session cookies; empty: a random key per process (every
    console session ends when the API restarts, and replicas do not share sessions)."""
    session_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    """How long a console sign-in lasts."""
    temporal_ui_url: str = "http://localhost:8233"
    """Base URL of the Temporal Web UI the console links executions to."""
    partner_token_hashes: dict[Annotated[str, Field(pattern=PARTNER_ID_PATTERN)], str] = Field(default_factory=dict)
    """Partner id -> SHA-256 hex digest of that partner's bearer token."""
    public_url: str = ""
    """Base URL used in status links (defaults to the request's own URL)."""
    metrics_port: int = Field(default=9465, ge=0, le=65535)
    """Port of the API's Prometheus /metrics endpoint (apart from the API port, for the scraper only)."""
    unavailable_retry_after_seconds: int = Field(default=5, ge=1)
    """Retry-After of a 503 answered while Temporal or PostgreSQL is unreachable."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest request body accepted (413 beyond it); a B2B file goes to S3, not through the API."""

    @field_validator("partner_token_hashes")
    @classmethod
    def _no_reserved_partner(cls, value: dict[str, str]) -> dict[str, str]:
        if "batch" in value:  # b2b-batch-... are the B2B batches' workflow ids
            raise ValueError("'batch' is reserved and cannot be a partner id")
        return value


class TelemetrySettings(BaseModel):
    """Tracing and logs."""

    tracing: Literal["auto", "otlp", "console", "off"] = "auto"
    """auto: OTLP if OTEL_EXPORTER_OTLP_ENDPOINT is set, otherwise off."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Root log level."""
    log_format: Literal["json", "text"] = "json"
    """Structured JSON lines, or plain text for a terminal."""


class AwsResourceSettings(BaseModel):
    """Names of the AWS resources the pipelines use (see worker.devstack.resources)."""

    name_prefix: str = ""
    """Prefix added to every bucket, table, queue and topic name (one per environment)."""


class PartnerSettings(BaseModel):
    """URLs of the partner systems the pipelines call over HTTP."""

    payment_url: str = "http://127.0.0.1:8090"
    """Base URL of the payment provider."""
    enrichment_url: str = "http://127.0.0.1:8090"
    """Base URL of the B2B enrichment API."""
    payment_api_key: SecretStr = SecretStr("")
    """Bearer key sent to the payment provider."""
    http_timeout_seconds: float = Field(default=5.0, gt=0)
    """Per-request timeout for partner HTTP calls."""


class B2BSettings(BaseModel):
    """The B2B pipeline: file intake, batch dispatch and the partners' request rate."""

    intake_enabled: bool = True
    """Long-poll the b2b-intake queue inside the worker process (every worker competes for messages)."""
    intake_wait_seconds: int = Field(default=10, ge=0, le=20)
    """SQS long-poll wait per receive (SQS allows up to 20); shutdown waits for the receive in flight."""
    chunk_size: int = Field(default=500, ge=1, le=5000)
    """Records per chunk object a batch file is split into (one dispatch step per chunk)."""
    max_in_flight: int = Field(default=50, ge=1, le=1000)
    """Transaction workflows a batch keeps running at once."""
    rate_per_second: float = Field(default=10.0, gt=0)
    """Requests per second each partner may make to the B2B API (token refill rate)."""
    burst: int = Field(default=20, ge=1)
    """Requests a partner may make at once before being limited (token bucket size)."""


class PollerSettings(BaseModel):
    """The API poller: which partner APIs it may fetch, how many pages at once, and retention."""

    partners: dict[Annotated[str, Field(pattern=PARTNER_ID_PATTERN)], list[str]] = Field(default_factory=dict)
    """Partner id -> the base URLs of its API the poller may fetch (``http(s)://host[:port]/path/``).
    A job's URL must lie under one of them; nothing else is ever fetched."""
    allow_private_networks: bool = False
    """Also connect to loopback and private addresses (a partner on an internal network; the dev
    stack's emulator). Link-local addresses (the cloud metadata endpoint) are refused regardless."""
    max_in_flight: int = Field(default=5, ge=1, le=100)
    """Pages fetched at once per job (the article's dynamic parallelism)."""
    slice_pages: int = Field(default=500, ge=10, le=1000)
    """Pages per slice workflow: bounds each execution's history (about 4.3 events per page)."""
    max_pages: int = Field(default=20_000, ge=1, le=200_000)
    """Most pages one job may have; a partner announcing more is refused."""
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    """Largest page body read from a partner."""
    consumer_enabled: bool = True
    """Process the payload queue inside the worker process (every worker competes for messages)."""
    consumer_wait_seconds: int = Field(default=10, ge=0, le=20)
    """SQS long-poll wait per receive."""
    retention_days: float = Field(default=7.0, gt=0)
    """Tasks of finished jobs older than this are purged (the article's DynamoDB TTL)."""
    retention_every_minutes: int = Field(default=60, ge=1)
    """How often the retention schedule runs; the worker creates or updates it at start-up."""
    retention_schedule: bool = True
    """Create the retention schedule at start-up."""

    @field_validator("partners")
    @classmethod
    def _bases_are_api_roots(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for partner, bases in value.items():
            for base in bases:
                if not re.fullmatch(r"https?://[^/\s?#@]+/([^\s?#]*/)?", base):
                    raise ValueError(
                        f"{partner}: {base!r} is not http(s)://host/ or http(s)://host/path/ (ending in '/')"
                    )
        return value


OPERATOR_CALLER = "operator"
"""Key of the operators' entry in caller-keyed settings."""
ANY_PARTNER = "*"
"""Key of the entry for every partner without an entry of its own."""


class MediaSettings(BaseModel):
    """The media pipeline's edge: where each caller's media may come from."""

    input_locations: dict[str, list[str]] = Field(
        default_factory=lambda: {
            OPERATOR_CALLER: ["s3://{media_bucket}/"],
            ANY_PARTNER: ["s3://{media_bucket}/partners/{partner}/"],
        }
    )
    """Caller (``operator``, a partner id, or ``*`` for any other partner) -> allowed ``s3://bucket/prefix/``
    list. ``{media_bucket}`` is the media bucket's name and ``{partner}`` the calling partner's id; a caller
    without an entry may submit no media at all."""

    @field_validator("input_locations")
    @classmethod
    def _locations_are_folders(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        # A prefix without its trailing slash would also admit its siblings ("partners/acme" ~ "partners/acme-x").
        for caller, locations in value.items():
            for location in locations:
                if not re.fullmatch(r"s3://[^/\s]+/([^\s]*/)?", location):
                    raise ValueError(f"{location!r} is not s3://bucket/ or s3://bucket/prefix/ (ending in '/')")
                # Checked here, not at the first request: an unknown placeholder would be a 500 there.
                allowed = {"media_bucket"} if caller == OPERATOR_CALLER else {"media_bucket", "partner"}
                try:
                    names = {name for _, name, _, _ in string.Formatter().parse(location) if name is not None}
                except ValueError as error:
                    raise ValueError(f"{location!r}: {error}") from None
                if names - allowed:
                    raise ValueError(
                        f"{location!r} uses {sorted(names - allowed)}; {caller!r} may use {sorted(allowed)}"
                    )
        return value


class TranslationSettings(BaseModel):
    """Translation projects: intake, Amazon Translate's quota and prices, review and archiving."""

    intake_enabled: bool = True
    """Long-poll the translation intake queue in every worker (S3 events under ``translation-inbound/``)."""
    intake_wait_seconds: int = Field(default=10, ge=0, le=20)
    """SQS long-poll wait of the intake."""
    settle_seconds: float = Field(default=10.0, ge=0, le=3600)
    """A project is read once no file has arrived for this long."""
    max_pairs_in_flight: int = Field(default=10, ge=1, le=1000)
    """Translate's concurrent batch-job quota: at most this many pairs' jobs run at once, fleet-wide."""
    poll_seconds: float = Field(default=30.0, gt=0, le=3600)
    """Seconds between DescribeTextTranslationJob calls (and between tries for a free job slot)."""
    max_job_hours: float = Field(default=24.0, gt=0)
    """Longest a batch job may run before its wait parks for an operator."""
    price_standard_per_million: Decimal = Field(default=Decimal("15"), ge=0)
    """US dollars per million characters, standard batch translation."""
    price_custom_per_million: Decimal = Field(default=Decimal("60"), ge=0)
    """US dollars per million characters, Active Custom Translation (a pair with translation memory)."""
    data_access_role_arn: str = Field(
        default="arn:aws:iam::123456789012:role/stepwise-translate", pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"
    )
    """The role Amazon Translate assumes to read job input and write output."""
    archive_after_days: int = Field(default=30, ge=1, le=36500)
    """Delivered projects move to ``archive_storage_class`` after this many days (a lifecycle rule per customer)."""
    archive_storage_class: Literal[
        "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"
    ] = "GLACIER_IR"
    """The cheaper storage class."""
    review_remind_hours: float | None = Field(default=24.0, gt=0, le=MAX_WAIT_HOURS, allow_inf_nan=False)
    """Remind the translators' topic of a waiting review after this long (None: never)."""
    review_escalate_hours: float | None = Field(default=72.0, gt=0, le=MAX_WAIT_HOURS, allow_inf_nan=False)
    """Escalate a waiting review to the operators after this long (None: never)."""
    max_files: int = Field(default=500, ge=1, le=1000)
    """Most files one project may have (each arrival costs the project's history up to four events)."""
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    """Largest upload request the API accepts, all its files together (Translate's limit on one
    batch document is 20 MB); larger projects go straight to S3 or in several requests."""


class DocumentsSettings(BaseModel):
    """Shipment documents: intake, Textract/Comprehend extraction, the confidence threshold and review."""

    intake_enabled: bool = True
    """Long-poll the documents intake queue in every worker (S3 events under ``documents-inbound/``)."""
    intake_wait_seconds: int = Field(default=10, ge=0, le=20)
    """SQS long-poll wait of the intake."""
    confidence_threshold: float = Field(default=0.95, gt=0, le=1)
    """A field extracted with a lower confidence (0-1) goes to review."""
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=500 * 1024 * 1024)
    """Largest document accepted (Textract's asynchronous limit for a PDF is 500 MB)."""
    analysis_poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    """Seconds between GetDocumentAnalysis calls while Textract works."""
    max_analysis_minutes: float = Field(default=60.0, gt=0)
    """Longest a Textract analysis may run before its wait parks for an operator."""
    missing_remind_hours: float | None = Field(default=4.0, gt=0, le=MAX_WAIT_HOURS, allow_inf_nan=False)
    """Remind the reviewers' topic of a shipment still missing a document after this long (None: never)."""
    missing_escalate_hours: float | None = Field(default=24.0, gt=0, le=MAX_WAIT_HOURS, allow_inf_nan=False)
    """Escalate a shipment still missing a document to the operators after this long (None: never)."""
    review_remind_hours: float | None = Field(default=4.0, gt=0, le=MAX_WAIT_HOURS, allow_inf_nan=False)
    """Remind the reviewers' topic of a waiting review after this long (None: never)."""
    review_escalate_hours: float | None = Field(default=24.0, gt=0, le=MAX_WAIT_HOURS, allow_inf_nan=False)
    """Escalate a waiting review to the operators after this long (None: never)."""


class DevSettings(BaseModel):
    """The embedded stack of `stepwise dev` and the tests."""

    state_dir: Path = Path(".stepwise")
    """Where the dev server's SQLite file, pgdata and logs live."""
    temporal_port: int = 7233
    """Temporal frontend port of the dev server."""
    temporal_ui_port: int = 8233
    """Temporal Web UI port of the dev server."""
    aws_port: int = 5000
    """Port of the AWS emulator (moto server)."""
    emulator_port: int = 8090
    """Port of the partner emulators (payment provider, enrichment API)."""


class Settings(BaseSettings):
    """All of Stepwise's settings."""

    model_config = SettingsConfigDict(
        env_prefix="STEPWISE_",
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,
    )

    database_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("STEPWISE_DATABASE_URL", "database_url")
    )
    """SQLAlchemy URL of Postgres (postgresql+asyncpg://...). Unset: the dev stack's embedded one."""
    database_pool_size: int = Field(default=10, ge=1)
    """Connections per process."""
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    aws: AwsResourceSettings = Field(default_factory=AwsResourceSettings)
    partners: PartnerSettings = Field(default_factory=PartnerSettings)
    b2b: B2BSettings = Field(default_factory=B2BSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    poller: PollerSettings = Field(default_factory=PollerSettings)
    translation: TranslationSettings = Field(default_factory=TranslationSettings)
    documents: DocumentsSettings = Field(default_factory=DocumentsSettings)
    dev: DevSettings = Field(default_factory=DevSettings)

    def require_database_url(self) -> str:
        """The Postgres URL, normalised to the asyncpg driver."""
        if self.database_url is None:
            raise SettingsError(
                "STEPWISE_DATABASE_URL: not set (with `stepwise dev` running, `source .stepwise/env.sh`)"
            )
        return normalise_database_url(self.database_url.get_secret_value())


def normalise_database_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return the asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise SettingsError("STEPWISE_DATABASE_URL: must start with postgresql:// or postgresql+asyncpg://")


def hash_token(token: str) -> str:
    """The form a bearer token is stored in settings: its SHA-256 hex digest."""
    return hashlib.sha256(token.encode()).hexdigest()


def _variable_name(location: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in location if not isinstance(p, int)]
    if parts and parts[0] == "temporal":
        return "TEMPORAL_" + "_".join(parts[1:]).upper()
    if parts and parts[0].startswith("STEPWISE_"):
        return parts[0]
    return "STEPWISE_" + "__".join(parts).upper()


def load_settings() -> Settings:
    """Read the settings from the environment or raise a one-line :class:`SettingsError`."""
    try:
        temporal = TemporalSettings()
    except ValidationError as exc:
        raise _as_settings_error(exc, prefix=("temporal",)) from None
    try:
        return Settings(temporal=temporal)
    except ValidationError as exc:
        raise _as_settings_error(exc, prefix=()) from None
    except UnreadableVariable as exc:  # a dict or list setting whose value is not JSON
        raise SettingsError(_unreadable_variable(str(exc))) from None


def _unreadable_variable(message: str) -> str:
    """Name the variable pydantic-settings could not parse (it names only the top-level field)."""
    field = re.search(r'field "(\w+)"', message)
    prefix = f"STEPWISE_{field.group(1).upper()}" if field else "STEPWISE_"
    for name, value in sorted(os.environ.items()):
        upper = name.upper()
        if upper != prefix and not upper.startswith(f"{prefix}__"):
            continue
        if _holds_json(upper.removeprefix("STEPWISE_").lower().split("__")):
            try:
                json.loads(value)
            except ValueError as error:
                return f"{name}: not valid JSON ({error})"
    return f"{prefix}: {message}"


def _holds_json(path: list[str]) -> bool:
    """True when the setting at ``path`` is a dict, a list or a whole group (given as JSON)."""
    model: type[BaseModel] = Settings
    for depth, part in enumerate(path):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if depth == len(path) - 1:
                return True
            model = annotation
            continue
        return get_origin(annotation) in (dict, list)
    return False


def _as_settings_error(exc: ValidationError, prefix: tuple[str, ...]) -> SettingsError:
    first = exc.errors()[0]
    name = _variable_name(prefix + tuple(first["loc"]))
    return SettingsError(f"{name}: {first['msg']} (got {first.get('input')!r})")
