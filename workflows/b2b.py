"""B2BTransactionWorkflow: one partner transaction, the article's per-transaction state machine.

    format (note -> two user ids) -> enrich (enrichment API) -> store (DynamoDB PutItem + Postgres)
    local activity                   task-queue activity        local activity
        |                               |
        +-- malformed note / 4xx -------+--> QUARANTINED with the reason (the workflow completes)
        +-- retries exhausted ------------> parked for an operator (step control): retry, skip
                                            with a substitute output, or abort -> FAILED with
                                            the reason (the workflow fails, typed; b2b-dlq)

The workflow id is ``b2b-<partner>-<TransactionID>``, so a resubmitted transaction maps to
the same execution. It is started by the API (real time) or by a batch's dispatch step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.b2b import (
        B2BTransactionActivities,
        EnrichedTransaction,
        FormattedTransaction,
        Settlement,
        StoredTransaction,
        TransactionInput,
    )
    from workflows.policies import B2B_ENRICH, B2B_FORMAT, B2B_SETTLE, B2B_STORE, StepPolicy
    from workflows.step_control import StepControl, StepControlHandlers


STORE_LOCAL = "b2b-store-local"
"""Patch: store runs as a local activity (it was a task-queue activity)."""
STEP_CONTROL = "b2b-step-control"
"""Patch: steps run under step control (a step whose retries run out parks instead of failing)."""
PIPELINE = "b2b"

REJECTING_ERRORS = ("MalformedTransaction", "EnrichmentRejected")
"""Errors that mean the transaction's content is at fault: it is quarantined, not failed."""


@dataclass(frozen=True)
class TransactionResult:
    """How a transaction ended."""

    partner_id: str
    transaction_id: str
    status: str
    """STORED or QUARANTINED (a FAILED transaction fails the workflow)."""
    from_user_id: str | None = None
    to_user_id: str | None = None
    reason: str | None = None
    """Why it was quarantined."""


@workflow.defn
class B2BTransactionWorkflow(StepControlHandlers):
    """Format, enrich and store one transaction; quarantine it if its content is rejected."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)
        self._controlled = False
        self._step = "starting"

    @workflow.run
    async def run(self, request: TransactionInput) -> TransactionResult:
        self._request = request
        # Transactions started before step control replay the steps their history recorded.
        self._controlled = workflow.patched(STEP_CONTROL)
        try:
            return await self._process(request)
        finally:
            await self.steps.settle()

    async def _process(self, request: TransactionInput) -> TransactionResult:
        try:
            formatted = await self._format()
            enriched = await self._enrich(formatted)
            await self._store(enriched)
        except (ActivityError, ApplicationError) as failure:
            # A local activity's failure arrives as the ApplicationError itself, not wrapped.
            return await self._settle(failure)
        self._count("stored")
        return TransactionResult(
            request.partner_id, request.transaction_id, "STORED", formatted.from_user_id, formatted.to_user_id
        )

    @workflow.query
    def current_step(self) -> str:
        """The step running now (``done`` at the end)."""
        return self._step

    async def _format(self) -> FormattedTransaction:
        # A local activity (see B2B_FORMAT): a regex and one row update do not need a round
        # trip through the task queue.
        result: FormattedTransaction = await self._run_step(
            "format", B2BTransactionActivities.format_transaction, self._request, B2B_FORMAT, FormattedTransaction
        )
        return result

    async def _enrich(self, formatted: FormattedTransaction) -> EnrichedTransaction:
        result: EnrichedTransaction = await self._run_step(
            "enrich", B2BTransactionActivities.enrich_transaction, formatted, B2B_ENRICH, EnrichedTransaction
        )
        return result

    async def _store(self, enriched: EnrichedTransaction) -> StoredTransaction:
        policy = B2B_STORE
        if not workflow.patched(STORE_LOCAL):
            # Transactions started before store became a local activity replay the
            # task-queue activity their history recorded.
            policy = replace(B2B_STORE, local=False)
        result: StoredTransaction = await self._run_step(
            # A skipped store must say where the operator stored it: the transaction is reported STORED.
            "store",
            B2BTransactionActivities.store_transaction,
            enriched,
            policy,
            StoredTransaction,
        )
        return result

    async def _run_step(
        self, name: str, activity: Any, argument: Any, policy: StepPolicy, output: type | None = None
    ) -> Any:
        """Run one step; with ``output`` a skip must substitute it (the next step needs it)."""
        self._step = name
        if self._controlled:
            result: Any
            if output is not None:
                result = await self.steps.run(name, activity, argument, policy=policy, output=output)
            else:
                result = await self.steps.run(name, activity, argument, policy=policy)
        elif policy.local:
            result = await workflow.execute_local_activity_method(activity, argument, **policy.activity_options())
        else:
            result = await workflow.execute_activity_method(activity, argument, **policy.activity_options())
        self._step = "done"
        return result

    async def _settle(self, failure: ActivityError | ApplicationError) -> TransactionResult:
        """Record the unstored ending; content problems complete as QUARANTINED, others fail."""
        cause = failure.cause if isinstance(failure, ActivityError) else failure
        error_type = cause.type if isinstance(cause, ApplicationError) else type(cause).__name__
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or failure)
        failed_step = self._step
        status = "QUARANTINED" if error_type in REJECTING_ERRORS else "FAILED"
        reason = f"{failed_step}: {message}"
        request = self._request
        await self._run_step(
            "settle",
            B2BTransactionActivities.settle_transaction,
            Settlement(request.partner_id, request.transaction_id, status, reason),
            B2B_SETTLE,
        )
        self._count(status.lower())
        if status == "QUARANTINED":
            return TransactionResult(request.partner_id, request.transaction_id, status, reason=reason)
        raise ApplicationError(
            f"transaction {request.transaction_id} of {request.partner_id} failed at {failed_step}: {message}",
            type=error_type or "TransactionFailed",
            non_retryable=True,
        )

    def _count(self, outcome: str) -> None:
        workflow.metric_meter().create_counter("stepwise_b2b_transactions_total", "B2B transactions by outcome").add(
            1, {"outcome": outcome, "source": self._request.source}
        )
