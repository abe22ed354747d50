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

Every step runs under step control (``workflows.step_control``): forward steps fail the
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
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.booking import (
        BookingActivities,
        BookingMessage,
        BookingRef,
        BookingRequest,
        CancelBookingInput,
        PaymentInput,
        SeatsInput,
    )
    from workflows.booking_contract import (
        STEPS_BEFORE_CONFIRMATION,
        BookingProgress,
        BookingResult,
        CancelRequest,
        CustomerCancelled,
        describe,
        error_type,
    )
    from workflows.policies import (
        BOOKING_DEAD_LETTER,
        COLLECT_PAYMENT,
        COMPENSATION,
        CONFIRM_BOOKING,
        NOTIFY_CUSTOMER,
        RESERVE_BOOKING,
        RESERVE_SEATS,
        OnFailure,
        StepPolicy,
    )
    from workflows.saga import STEP_ERRORS, Saga
    from workflows.step_control import StepControl, StepControlHandlers


RESERVE_BOOKING_LOCAL = "booking-reserve-booking-local"
"""Patch: reserve booking runs as a local activity (it was a task-queue activity)."""


@workflow.defn
class BookingWorkflow(StepControlHandlers):
    """One booking, from seat to notification, compensated on failure."""

    @workflow.init
    def __init__(self, request: BookingRequest) -> None:
        self.steps = StepControl("booking")
        self._request = request
        self._saga = Saga()
        self._status = "RUNNING"
        self._current_step: str | None = None
        self._completed: list[str] = []
        self._cancel_reason: str | None = None
        self._failed_step: str | None = None
        self._failure_reason: str | None = None
        self._reference: str | None = None

    @workflow.run
    async def run(self, request: BookingRequest) -> BookingResult:
        try:
            await self._reserve_seats()
            await self._reserve_booking()
            await self._collect_payment()
            await self._confirm_booking()
        except (*STEP_ERRORS, CustomerCancelled) as failure:
            return await self._compensate_and_close(failure)
        await self._notify_confirmed()
        self._record_outcome("confirmed")
        await self.steps.settle()
        return self._result()

    # --- forward steps ---------------------------------------------------------------

    async def _reserve_seats(self) -> None:
        seats = SeatsInput(self._booking_id, self._request.flight_ids)
        self._saga.register(
            "release_seats", lambda: self._undo("release_seats", BookingActivities.release_seats, seats)
        )
        await self._step("reserve_seats", BookingActivities.reserve_seats, seats, RESERVE_SEATS)

    async def _reserve_booking(self) -> None:
        self._saga.register("cancel_booking", self._cancel_booking)
        policy = RESERVE_BOOKING
        if not workflow.patched(RESERVE_BOOKING_LOCAL):
            # Bookings started before this step became a local activity replay the
            # task-queue activity their history recorded.
            policy = replace(RESERVE_BOOKING, local=False)
        await self._step("reserve_booking", BookingActivities.reserve_booking, self._request, policy)

    async def _collect_payment(self) -> None:
        booking = BookingRef(self._booking_id)
        self._saga.register(
            "refund_payment", lambda: self._undo("refund_payment", BookingActivities.refund_payment, booking)
        )
        payment = PaymentInput(
            self._booking_id, self._request.amount, self._request.currency, self._request.payment_token
        )
        await self._step("collect_payment", BookingActivities.collect_payment, payment, COLLECT_PAYMENT)

    async def _confirm_booking(self) -> None:
        confirmation = await self._step(
            "confirm_booking", BookingActivities.confirm_booking, BookingRef(self._booking_id), CONFIRM_BOOKING
        )
        self._reference = confirmation.reference
        self._status = "CONFIRMED"

    async def _notify_confirmed(self) -> None:
        body = {"booking_id": self._booking_id, "status": "CONFIRMED", "reference": self._reference}
        message = BookingMessage(
            self._booking_id, "confirmed", f"Booking {self._reference} confirmed", json.dumps(body)
        )
        try:
            await self._step("notify", BookingActivities.notify_customer, message, NOTIFY_CUSTOMER)
        except STEP_ERRORS as failure:
            # The booking stands; the missing notification is a dead letter, not a reason to undo it.
            await self._dead_letter("notify", describe(failure))

    async def _step(self, name: str, activity: Any, argument: Any, policy: StepPolicy) -> Any:
        """Run one forward step, unless the customer has cancelled.

        A cancellation takes effect at the next step boundary rather than interrupting the
        running call: a payment in flight finishes (and is then refunded) instead of
        leaving a charge that a compensation could miss.
        """
        if self._cancel_reason is not None:
            raise CustomerCancelled(self._cancel_reason)
        self._current_step = name
        result = await self._call(name, activity, argument, policy, on_exhausted="fail")
        self._completed.append(name)
        self._current_step = None
        return result

    # --- failure path ----------------------------------------------------------------

    async def _compensate_and_close(self, failure: Exception) -> BookingResult:
        self._failed_step = self._current_step
        self._current_step = None
        self._failure_reason = describe(failure)
        await self._saga.compensate()
        if not any(outcome.step == "cancel_booking" for outcome in self._saga.outcomes):
            await self._cancel_booking()  # failed before the row existed: record the outcome anyway
        self._status = "CANCELLED"
        outcome = "cancelled_by_customer" if isinstance(failure, CustomerCancelled) else "failed"
        await self._notify_failed()
        await self._dead_letter(self._failed_step or "unknown", self._failure_reason)
        self._record_outcome(outcome)
        await self.steps.settle()
        if isinstance(failure, CustomerCancelled):
            return self._result()
        raise ApplicationError(
            f"booking {self._booking_id} failed at {self._failed_step}: {self._failure_reason}",
            asdict(self._result()),
            type=error_type(failure),
            non_retryable=True,
        )

    async def _cancel_booking(self) -> None:
        cancel = CancelBookingInput(self._request, self._failed_step or "unknown", self._failure_reason or "")
        await self._undo("cancel_booking", BookingActivities.cancel_booking, cancel)

    async def _notify_failed(self) -> None:
        body = {"booking_id": self._booking_id, "status": "CANCELLED", "reason": self._failure_reason}
        message = BookingMessage(self._booking_id, "failed", f"Booking {self._booking_id} cancelled", json.dumps(body))
        try:
            await self._call(
                "notify_failure", BookingActivities.notify_customer, message, NOTIFY_CUSTOMER, on_exhausted="fail"
            )
        except STEP_ERRORS as failure:
            workflow.logger.error("failure notification not sent: %s", describe(failure))

    async def _dead_letter(self, failed_step: str, reason: str | None) -> None:
        story = {
            "booking_id": self._booking_id,
            "workflow_id": workflow.info().workflow_id,
            "request": asdict(self._request) | {"payment_token": "<redacted>"},
            "failed_step": failed_step,
            "error": reason,
            "completed_steps": self._completed,
            "compensations": [asdict(outcome) for outcome in self._saga.outcomes],
            "status": self._status,
        }
        message = BookingMessage(
            self._booking_id, "dead-letter", f"Booking {self._booking_id} failed", json.dumps(story)
        )
        await self._call("dead_letter", BookingActivities.send_to_dead_letter_queue, message, BOOKING_DEAD_LETTER)

    async def _undo(self, name: str, activity: Any, argument: Any) -> Any:
        """A compensation: retried generously, then parked for an operator rather than lost."""
        return await self._call(name, activity, argument, COMPENSATION)

    async def _call(
        self, name: str, activity: Any, argument: Any, policy: StepPolicy, *, on_exhausted: OnFailure = "park"
    ) -> Any:
        return await self.steps.run(name, activity, argument, policy=policy, on_exhausted=on_exhausted)

    # --- customer cancellation and progress -------------------------------------------

    @workflow.update
    async def request_cancel(self, cancel: CancelRequest) -> BookingProgress:
        """Cancel before confirmation; answers with the progress at the moment of acceptance."""
        self._cancel_reason = cancel.reason or "cancelled by customer"
        return self.progress()

    @request_cancel.validator
    def _validate_cancel(self, cancel: CancelRequest) -> None:
        if self._status != "RUNNING" or self._current_step not in (None, *STEPS_BEFORE_CONFIRMATION):
            state = self._status if self._status != "RUNNING" else f"at step {self._current_step}"
            raise ValueError(f"booking {self._booking_id} can no longer be cancelled: it is {state}")

    @workflow.signal
    def cancel(self, cancel: CancelRequest) -> None:
        """The same cancellation as a signal (Temporal UI/CLI); ignored once confirmation began."""
        try:
            self._validate_cancel(cancel)
        except ValueError as rejected:
            workflow.logger.warning("cancel signal ignored: %s", rejected)
            return
        self._cancel_reason = cancel.reason or "cancelled by customer"

    @workflow.query
    def progress(self) -> BookingProgress:
        """Current step, completed steps, compensations run."""
        return BookingProgress(
            status=self._status,
            current_step=self._current_step,
            completed_steps=list(self._completed),
            compensations_run=[o.step if o.ok else f"{o.step} (failed)" for o in self._saga.outcomes],
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
        for compensation in self._saga.outcomes:
            compensations.add(1, {"step": compensation.step, "result": "ok" if compensation.ok else "failed"})
        elapsed: timedelta = workflow.now() - workflow.info().start_time
        meter.create_histogram_float(
            "stepwise_booking_saga_duration_seconds", "Saga duration from start to outcome", "s"
        ).record(elapsed.total_seconds(), {"outcome": outcome})
