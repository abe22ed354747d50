"""BookingWorkflow: the article's ProcessBooking saga as a Temporal workflow.

    reserve seat -> reserve booking -> collect payment -> confirm booking -> notify
        |                |                  |                  |
        +----- on failure: refund payment, cancel booking, release seat (reverse order)
               then notify failure, the whole story to booking-dlq, booking CANCELLED

Each compensation is registered before its forward step runs. A customer may cancel
until confirmation starts (``request_cancel`` update, or the ``cancel`` signal from the
Temporal UI); it takes effect at the next step boundary. After that the update is
rejected with a clear message. Once confirmed, the booking is not undone: a failed
confirmation notification goes to the DLQ instead.

Every step runs under step control (``workflows.common.step_control``), which also
keeps the saga (each step's ``undo``), the customer's cancellation and the progress;: forward steps fail the
saga when their retries are exhausted (that is what the compensations are for), while a
compensation or the dead-letter write that exhausts its retries *parks* for an operator
(retry / skip / abort by update or signal) instead of being lost.

Round trips: seat and booking row are local activities in the first workflow task, the
payment is the one task-queue activity (a partner call whose attempts operators should see),
and confirm and notify are local activities in the second workflow task (see the policies).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.booking.policies as policies
    from activities.booking.contracts import (
        BOOKING_FAILED,
        CANCEL_BOOKING,
        COLLECT_PAYMENT,
        CONFIRM_BOOKING,
        NOTIFY_CUSTOMER,
        PIPELINE,
        REFUND_PAYMENT,
        RELEASE_SEATS,
        RESERVE_BOOKING,
        RESERVE_SEATS,
        SEND_TO_DEAD_LETTER_QUEUE,
        STEPS_BEFORE_CONFIRMATION,
        BookingMessage,
        BookingProgress,
        BookingRef,
        BookingRequest,
        BookingResult,
        CancelBookingInput,
        CancelRequest,
        PaymentInput,
        SeatsInput,
    )
    from workflows.common.cleanup import at_exit
    from workflows.common.failures import STEP_ERRORS, describe_failure
    from workflows.common.step_control import CaseCancelled, StepControl, StepControlHandlers, Undo


RESERVE_BOOKING_LOCAL = "booking-reserve-booking-local"
"""Patch: reserve booking runs as a local activity (it was a task-queue activity)."""


@workflow.defn
class BookingWorkflow(StepControlHandlers):
    """One booking, from seat to notification, compensated on failure."""

    @workflow.init
    def __init__(self, request: BookingRequest) -> None:
        self.steps = StepControl(PIPELINE)
        self._request = request
        self._status = "RUNNING"
        self._failed_step: str | None = None
        self._failure_reason: str | None = None
        self._reference: str | None = None

    @workflow.run
    async def run(self, request: BookingRequest) -> BookingResult:
        async with at_exit(self.steps.settle):  # however the booking ends, decisions finish their audit first
            return await self._book()

    async def _book(self) -> BookingResult:
        try:
            await self._reserve_seats()
            await self._reserve_booking()
            await self._collect_payment()
            await self._confirm_booking()
        except (*STEP_ERRORS, CaseCancelled) as failure:
            return await self._compensate_and_close(failure)
        await self._notify_confirmed()
        self._record_outcome("confirmed")
        return self._result()

    # --- forward steps ---------------------------------------------------------------

    async def _reserve_seats(self) -> None:
        seats = SeatsInput(self._booking_id, self._request.flight_ids)
        release = Undo("release_seats", RELEASE_SEATS, lambda: seats, policies.COMPENSATION)
        await self.steps.run("reserve_seats", RESERVE_SEATS, seats, policy=policies.RESERVE_SEATS, undo=release)

    async def _reserve_booking(self) -> None:
        policy = policies.RESERVE_BOOKING
        if not workflow.patched(RESERVE_BOOKING_LOCAL):
            # Bookings started before this step became a local activity replay the
            # task-queue activity their history recorded.
            policy = replace(policy, local=False)
        cancel = Undo("cancel_booking", CANCEL_BOOKING, self._cancel_input, policies.COMPENSATION)
        await self.steps.run("reserve_booking", RESERVE_BOOKING, self._request, policy=policy, undo=cancel)

    async def _collect_payment(self) -> None:
        booking = BookingRef(self._booking_id)
        refund = Undo("refund_payment", REFUND_PAYMENT, lambda: booking, policies.COMPENSATION)
        payment = PaymentInput(
            self._booking_id, self._request.amount, self._request.currency, self._request.payment_token
        )
        await self.steps.run("collect_payment", COLLECT_PAYMENT, payment, policy=policies.COLLECT_PAYMENT, undo=refund)

    async def _confirm_booking(self) -> None:
        booking = BookingRef(self._booking_id)
        confirmation = await self.steps.run(
            "confirm_booking", CONFIRM_BOOKING, booking, policy=policies.CONFIRM_BOOKING
        )
        self._reference = confirmation.reference
        self._status = "CONFIRMED"

    async def _notify_confirmed(self) -> None:
        body = {"booking_id": self._booking_id, "status": "CONFIRMED", "reference": self._reference}
        message = BookingMessage(
            self._booking_id, "confirmed", f"Booking {self._reference} confirmed", json.dumps(body)
        )
        try:
            await self.steps.run("notify", NOTIFY_CUSTOMER, message, policy=policies.NOTIFY_CUSTOMER)
        except STEP_ERRORS as failure:
            # The booking stands; the missing notification is a dead letter, not a reason to undo it.
            self.steps.stopped_at()
            await self._dead_letter("notify", describe_failure(failure).reason)

    # --- failure path ----------------------------------------------------------------

    async def _compensate_and_close(self, failure: Exception) -> BookingResult:
        self._failed_step = self.steps.stopped_at()
        cancelled = isinstance(failure, CaseCancelled)
        described = None if cancelled else describe_failure(failure)
        self._failure_reason = f"cancelled by customer: {failure}" if described is None else described.reason
        compensations = await self.steps.compensate()
        if not any(outcome.step == "cancel_booking" for outcome in compensations):
            # Failed before the row existed: record the outcome anyway.
            await self.steps.run(
                "cancel_booking", CANCEL_BOOKING, self._cancel_input(), policy=policies.COMPENSATION, progress=False
            )
        self._status = "CANCELLED"
        await self._notify_failed()
        await self._dead_letter(self._failed_step or "unknown", self._failure_reason)
        self._record_outcome("cancelled_by_customer" if cancelled else "failed")
        if described is None:
            return self._result()
        raise ApplicationError(
            f"booking {self._booking_id} failed at {self._failed_step}: {self._failure_reason}",
            asdict(self._result()),
            type=described.error_type_or(BOOKING_FAILED),
            non_retryable=True,
        )

    def _cancel_input(self) -> CancelBookingInput:
        return CancelBookingInput(self._request, self._failed_step or "unknown", self._failure_reason or "")

    async def _notify_failed(self) -> None:
        body = {"booking_id": self._booking_id, "status": "CANCELLED", "reason": self._failure_reason}
        message = BookingMessage(self._booking_id, "failed", f"Booking {self._booking_id} cancelled", json.dumps(body))
        try:
            await self.steps.run(
                "notify_failure", NOTIFY_CUSTOMER, message, policy=policies.NOTIFY_CUSTOMER, progress=False
            )
        except STEP_ERRORS as failure:
            workflow.logger.error("failure notification not sent: %s", describe_failure(failure).reason)

    async def _dead_letter(self, failed_step: str, reason: str | None) -> None:
        story = {
            "booking_id": self._booking_id,
            "workflow_id": workflow.info().workflow_id,
            "request": asdict(self._request) | {"payment_token": "<redacted>"},
            "failed_step": failed_step,
            "error": reason,
            "completed_steps": self.steps.completed_steps,
            "compensations": [asdict(outcome) for outcome in self.steps.compensations],
            "status": self._status,
        }
        message = BookingMessage(
            self._booking_id, "dead-letter", f"Booking {self._booking_id} failed", json.dumps(story)
        )
        await self.steps.run(
            "dead_letter", SEND_TO_DEAD_LETTER_QUEUE, message, policy=policies.BOOKING_DEAD_LETTER, progress=False
        )

    # --- customer cancellation and progress -------------------------------------------

    @workflow.update
    async def request_cancel(self, cancel: CancelRequest) -> BookingProgress:
        """Cancel before confirmation; answers with the progress at the moment of acceptance."""
        self.steps.cancel(cancel.reason or "cancelled by customer")
        return self.progress()

    @request_cancel.validator
    def _validate_cancel(self, cancel: CancelRequest) -> None:
        current = self.steps.current_step
        if self._status != "RUNNING" or current not in (None, *STEPS_BEFORE_CONFIRMATION):
            state = self._status if self._status != "RUNNING" else f"at step {current}"
            raise ValueError(f"booking {self._booking_id} can no longer be cancelled: it is {state}")

    @workflow.signal
    def cancel(self, cancel: CancelRequest) -> None:
        """The same cancellation as a signal (Temporal UI/CLI); ignored once confirmation began."""
        try:
            self._validate_cancel(cancel)
        except ValueError as rejected:
            workflow.logger.warning("cancel signal ignored: %s", rejected)
            return
        self.steps.cancel(cancel.reason or "cancelled by customer")

    @workflow.query
    def progress(self) -> BookingProgress:
        """Current step, completed steps, compensations run."""
        return BookingProgress(
            status=self._status,
            current_step=self.steps.current_step,
            completed_steps=list(self.steps.completed_steps),
            compensations_run=[o.step if o.ok else f"{o.step} (failed)" for o in self.steps.compensations],
            failed_step=self._failed_step,
            failure_reason=self._failure_reason,
            reference=self._reference,
        )

    # --- bookkeeping ------------------------------------------------------------------

    @property
    def _booking_id(self) -> str:
        return self._request.request_id

    def _result(self) -> BookingResult:
        progress = self.progress()
        return BookingResult(
            booking_id=self._booking_id,
            status=self._status,
            reference=self._reference,
            failed_step=self._failed_step,
            failure_reason=self._failure_reason,
            compensations_run=progress.compensations_run,
            completed_steps=progress.completed_steps,
        )

    def _record_outcome(self, outcome: str) -> None:
        meter = workflow.metric_meter()
        meter.create_counter("stepwise_bookings_total", "Bookings by outcome").add(1, {"outcome": outcome})
        compensations = meter.create_counter("stepwise_booking_compensations_total", "Compensations run, by step")
        for compensation in self.steps.compensations:
            compensations.add(1, {"step": compensation.step, "result": "ok" if compensation.ok else "failed"})
        elapsed: timedelta = workflow.now() - workflow.info().start_time
        meter.create_histogram_float(
            "stepwise_booking_saga_duration_seconds", "Saga duration from start to outcome", "s"
        ).record(elapsed.total_seconds(), {"outcome": outcome})
