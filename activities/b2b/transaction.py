"""B2B transaction steps (DESIGN §5.4): format, enrich, store, and settling a rejected one.

The article's per-transaction state machine: a Lambda formats the payload, API Gateway
enriches it, DynamoDB ``PutItem`` stores it. Here each is an activity that also moves
the transaction's Postgres status trail (RECEIVED -> FORMATTED -> ENRICHED -> STORED).
Every write is idempotent: status appends are conditional, the DynamoDB put is
conditional on the key being absent, and enrichment is a read that may be repeated.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import aiohttp
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.b2b.contracts import (
    ENRICH_TRANSACTION,
    ENRICHMENT_REJECTED,
    FORMAT_TRANSACTION,
    MALFORMED_TRANSACTION,
    SETTLE_TRANSACTION,
    STORE_TRANSACTION,
    EnrichedTransaction,
    FormattedTransaction,
    Settlement,
    SettlementResult,
    StoredTransaction,
    TransactionInput,
)
from activities.b2b.records import Submission, admit, append_status, parse_note, quarantine
from activities.common.aws import AwsClients, aws_error_code
from activities.common.db import SessionMaker, autocommit
from activities.common.notify import Notifier
from activities.common.partner_http import PartnerResponse, partner_request
from activities.common.resources import Resources
from activities.models.b2b import B2BTransaction


def dynamodb_key(partner_id: str, transaction_id: str) -> str:
    """The ``transactionKey`` of a stored transaction."""
    return f"{partner_id}#{transaction_id}"


class B2BTransactionActivities:
    """The per-transaction steps, bound to the worker's clients."""

    def __init__(
        self,
        aws: AwsClients,
        sessions: SessionMaker,
        resources: Resources,
        http: aiohttp.ClientSession,
        enrichment_url: str,
    ) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._http = http
        self._enrichment_url = enrichment_url.rstrip("/")

    @activity.defn(name=FORMAT_TRANSACTION.name)
    async def format_transaction(self, request: TransactionInput) -> FormattedTransaction:
        """Turn the note into two user ids; a note of any other shape is non-retryable ``MalformedTransaction``."""
        users = parse_note(request.message)
        async with self._sessions.begin() as session:
            if users is not None and await self._mark_formatted(session, request, users):
                return FormattedTransaction(
                    request.partner_id, request.transaction_id, users[0], users[1], request.source, request.batch_id
                )
            # Not admitted yet (started other than by the API or a batch), or formatted by an
            # earlier attempt: admission records a well-formed note FORMATTED with its ids itself.
            submission = Submission(
                request.partner_id, request.transaction_id, request.message, request.source, request.batch_id
            )
            await admit(session, [submission])
        if users is None:
            raise ApplicationError(
                f"transaction {request.transaction_id}: note is not "
                "'Transaction made between user <id> and user <id>.'",
                type=MALFORMED_TRANSACTION,
                non_retryable=True,
            )
        return FormattedTransaction(
            request.partner_id, request.transaction_id, users[0], users[1], request.source, request.batch_id
        )

    async def _mark_formatted(self, session: Any, request: TransactionInput, users: tuple[str, str]) -> bool:
        """FORMATTED with the user ids; False if the transaction has no row (or was formatted before)."""
        return await append_status(
            session, request.partner_id, request.transaction_id, "FORMATTED", from_user_id=users[0], to_user_id=users[1]
        )

    async def _has_status(self, settlement: Settlement, status: str) -> bool:
        async with self._sessions() as session:
            row = await session.get(B2BTransaction, (settlement.partner_id, settlement.transaction_id))
        return row is not None and any(entry["status"] == status for entry in row.history)

    @activity.defn(name=ENRICH_TRANSACTION.name)
    async def enrich_transaction(self, transaction: FormattedTransaction) -> EnrichedTransaction:
        """Ask the enrichment API about both users; 5xx and timeouts retry, 4xx is ``EnrichmentRejected``."""
        body = {
            "partnerId": transaction.partner_id,
            "transactionId": transaction.transaction_id,
            "fromUserId": transaction.from_user_id,
            "toUserId": transaction.to_user_id,
        }
        response = await partner_request(
            self._http,
            "POST",
            f"{self._enrichment_url}/v1/enrich",
            json=body,
            unavailable="EnrichmentUnavailable",
            partner="enrichment API",
        )
        if response.status >= 400:
            raise ApplicationError(
                f"enrichment API rejected transaction {transaction.transaction_id}: {response.status} "
                f"{_error_text(response)}",
                type=ENRICHMENT_REJECTED,
                non_retryable=True,
            )
        enrichment = response.json()
        async with autocommit(self._sessions) as connection:  # one conditional update: one round trip
            await append_status(
                connection, transaction.partner_id, transaction.transaction_id, "ENRICHED", enrichment=enrichment
            )
        return EnrichedTransaction(transaction, enrichment)

    @activity.defn(name=STORE_TRANSACTION.name)
    async def store_transaction(self, enriched: EnrichedTransaction) -> StoredTransaction:
        """Put the item in DynamoDB once (conditional on its key), then mark the row STORED."""
        transaction = enriched.transaction
        key = dynamodb_key(transaction.partner_id, transaction.transaction_id)
        item = {
            "transactionKey": {"S": key},
            "partnerId": {"S": transaction.partner_id},
            "transactionId": {"S": transaction.transaction_id},
            "fromUserId": {"S": transaction.from_user_id},
            "toUserId": {"S": transaction.to_user_id},
            "source": {"S": transaction.source},
            "enrichment": {"S": json.dumps(enriched.enrichment, sort_keys=True)},
        }
        if transaction.batch_id:
            item["batchId"] = {"S": transaction.batch_id}
        table = self._resources.b2b_transactions_table
        already = False
        try:
            await self._aws.call(
                "dynamodb",
                "put_item",
                TableName=table,
                Item=item,
                ConditionExpression="attribute_not_exists(transactionKey)",
            )
        except ApplicationError as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                raise
            already = True  # an earlier attempt stored it; admission guarantees it is the same content
        async with autocommit(self._sessions) as connection:
            await append_status(connection, transaction.partner_id, transaction.transaction_id, "STORED")
        return StoredTransaction(table, key, already)

    @activity.defn(name=SETTLE_TRANSACTION.name)
    async def settle_transaction(self, settlement: Settlement) -> SettlementResult:
        """Record a transaction that ends unstored.

        A QUARANTINED one also gets a quarantine row; a FAILED one is also sent to the
        ``b2b-dlq`` queue, once per workflow run (through the notification ledger: a retry
        after a send whose status write failed finds the message already sent).
        """
        if settlement.status == "FAILED" and not await self._has_status(settlement, "FAILED"):
            await send_dead_letter(
                Notifier(self._aws, self._sessions),
                self._resources.b2b_dlq,
                f"transaction:{settlement.partner_id}:{settlement.transaction_id}",
                {"kind": "transaction", "partner_id": settlement.partner_id, **asdict(settlement)},
            )
        async with self._sessions.begin() as session:
            moved = await append_status(
                session, settlement.partner_id, settlement.transaction_id, settlement.status, reason=settlement.reason
            )
            if settlement.status == "QUARANTINED":
                row = await session.get(B2BTransaction, (settlement.partner_id, settlement.transaction_id))
                await quarantine(
                    session,
                    [
                        {
                            "quarantine_id": f"txn:{settlement.partner_id}:{settlement.transaction_id}",
                            "partner_id": settlement.partner_id,
                            "batch_id": row.batch_id if row else None,
                            "transaction_id": settlement.transaction_id,
                            "scope": "transaction",
                            "reason": settlement.reason,
                            "content": row.message if row else None,
                        }
                    ],
                )
        return SettlementResult(moved)


async def send_dead_letter(notifier: Notifier, queue: str, subject: str, story: dict[str, Any]) -> None:
    """Put the whole story of a terminal failure on a dead-letter queue, once per workflow run.

    The ledger key names the run, so a retried activity sends nothing twice while a run
    started again for the same transaction or batch (after a redrive) reports its own failure.
    """
    key = f"b2b-dlq:{subject}:{activity.info().workflow_run_id}"
    await notifier.send_once(key, queue, f"B2B {subject} failed", json.dumps(story, sort_keys=True, default=str))


def _error_text(response: PartnerResponse) -> str:
    """The API's error message, bounded (it ends up in Postgres and in history)."""
    try:
        detail = response.json().get("detail", "")
    except (ValueError, AttributeError):
        detail = ""
    return str(detail)[:200]
