"""B2BTransactionWorkflow: one partner transaction, the article's per-transaction state machine.

    format (note -> two user ids) -> enrich (enrichment API) -> store (DynamoDB PutItem + Postgres)
    local activity                   task-queue activity        local activity
    (done at admission when the
    input carries the user ids)
        |                               |
        +-- malformed note / 4xx -------+--> QUARANTINED with the reason (the workflow completes)
        +-- retries exhausted ------------> parked for an operator (step control): retry, skip
                                            with a substitute output, or abort -> FAILED with
                                            the reason (the workflow fails, typed; b2b-dlq)

The workflow id is ``b2b-<partner>-<TransactionID>``, so a resubmitted transaction maps to
the same execution. It is started by the API (real time) or by a batch's dispatch step.
"""

from __future__ import annotations

from dataclasses import replace

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.b2b.policies as policies
    from activities.b2b.contracts import (
        ENRICH_TRANSACTION,
        ENRICHMENT_SKIPPED,
        FORMAT_TRANSACTION,
        PIPELINE,
        REJECTING_ERRORS,
        SETTLE_TRANSACTION,
        STORE_TRANSACTION,
        TRANSACTION_FAILED,
        EnrichedTransaction,
        Settlement,
        TransactionInput,
        TransactionResult,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import STEP_ERRORS, describe_failure
    from workflows.common.step_control import StepControl, StepControlHandlers


STORE_LOCAL = "b2b-store-local"
"""Patch: store runs as a local activity (it was a task-queue activity)."""
STEP_CONTROL = "b2b-step-control"
"""Patch: a step whose retries run out parks instead of failing the transaction (before it, every failure failed it)."""


@workflow.defn
class B2BTransactionWorkflow(StepControlHandlers):
    """Format, enrich and store one transaction; quarantine it if its content is rejected."""

    def __init__(self) -> None:
        self.steps = StepControl(PIPELINE)

    @workflow.run
    async def run(self, request: TransactionInput) -> TransactionResult:
        self._request = request
        # Transactions started before step control replay the steps their history recorded.
        self.steps.parks = workflow.patched(STEP_CONTROL)
        async with at_exit(self.steps.settle):
            return await self._process(request)

    async def _process(self, request: TransactionInput) -> TransactionResult:
        store_policy = policies.STORE
        try:
            # Admission (a batch's dispatch, the API) formats a well-formed note in the insert
            # that records it; only a transaction admitted otherwise, or a note that does not
            # parse (quarantined here with the reason), runs the format step. Which branch runs
            # depends only on the input, so histories from before replay unchanged.
            formatted = request.formatted()
            if formatted is None:
                formatted = await self.steps.run("format", FORMAT_TRANSACTION, request, policy=policies.FORMAT)
            # An operator may skip enrichment (the partner API is down for good): the transaction
            # is stored without it, and says so. A skip with a substitute stores that instead.
            enriched = await self.steps.run_optional(
                "enrich", ENRICH_TRANSACTION, formatted, policy=policies.ENRICH
            ) or EnrichedTransaction(formatted, {ENRICHMENT_SKIPPED: "skipped by an operator"})
            if not workflow.patched(STORE_LOCAL):
                # Transactions started before store became a local activity replay the
                # task-queue activity their history recorded.
                store_policy = replace(store_policy, local=False)
            # A skipped store must say where the operator stored it: the transaction is reported STORED.
            await self.steps.run("store", STORE_TRANSACTION, enriched, policy=store_policy)
        except STEP_ERRORS as failure:
            return await self._settle(failure)
        self._count("stored")
        return TransactionResult(
            request.partner_id, request.transaction_id, "STORED", formatted.from_user_id, formatted.to_user_id
        )

    @workflow.query
    def current_step(self) -> str:
        """The step running now: ``starting`` before the first, ``done`` between and after steps."""
        if self.steps.current_step is not None:
            return self.steps.current_step
        return "done" if self.steps.completed_steps else "starting"

    async def _settle(self, failure: BaseException) -> TransactionResult:
        """Record the unstored ending; content problems complete as QUARANTINED, others fail."""
        described = describe_failure(failure)
        failed_step = self.steps.stopped_at() or "done"
        status = "QUARANTINED" if described.error_type in REJECTING_ERRORS else "FAILED"
        reason = f"{failed_step}: {described.message}"
        request = self._request
        settlement = Settlement(request.partner_id, request.transaction_id, status, reason)
        await self.steps.run("settle", SETTLE_TRANSACTION, settlement, policy=policies.SETTLE, progress=False)
        self._count(status.lower())
        if status == "QUARANTINED":
            return TransactionResult(request.partner_id, request.transaction_id, status, reason=reason)
        transaction = f"transaction {request.transaction_id} of {request.partner_id}"
        raise ApplicationError(
            f"{transaction} failed at {failed_step}: {described.message}",
            type=described.error_type_or(TRANSACTION_FAILED),
            non_retryable=True,
        )

    def _count(self, outcome: str) -> None:
        workflow.metric_meter().create_counter("stepwise_b2b_transactions_total", "B2B transactions by outcome").add(
            1, {"outcome": outcome, "source": self._request.source}
        )
