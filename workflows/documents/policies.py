"""Timeouts, retries and failure handling of every shipment documents step (seed: "Automate
Document Processing in Logistics using AI").

A document Textract or the screen cannot read is the shipment's business outcome, not a
fault: ``DocumentRefused`` is never retried, and the workflow records the refusal and waits for
a replacement. Any other error AWS raises as not to be retried (access denied, a job id Textract
no longer knows) parks the step for an operator rather than failing the shipment. Throttling
(Textract's ProvisionedThroughputExceeded, Comprehend's ThrottlingException, mapped to
``AwsThrottled``), 5xx and timeouts are retried with backoff a few times, then the step parks
for an operator's retry. Waiting for Textract's analysis is the retry-as-poll pattern: one
activity retried every ``analysis_poll_seconds`` for as many attempts as cover
``max_analysis_minutes``, after which the wait parks.
"""

from __future__ import annotations

import math
from datetime import timedelta

from activities.common.contracts import AWS_ERRORS_NOT_RETRIED
from activities.documents.contracts import DOCUMENT_REFUSED, ShipmentInput
from workflows.common.retry_shapes import exponential, poll_every
from workflows.common.step_policy import StepPolicy

EXTRACTION_NOT_RETRIED = [DOCUMENT_REFUSED, *AWS_ERRORS_NOT_RETRIED]
"""A refused document (the workflow waits for a replacement) and AWS's refusals of the request."""

SCREEN = StepPolicy(
    start_to_close=timedelta(minutes=2),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=list(AWS_ERRORS_NOT_RETRIED)),
)
"""Check the arrived object and copy it to the raw layer (or to quarantine with its reason)."""

START_ANALYSIS = StepPolicy(
    fails_on=(DOCUMENT_REFUSED,),
    start_to_close=timedelta(seconds=30),
    retry=exponential(5, first=timedelta(seconds=2), cap=timedelta(seconds=30), not_retried=EXTRACTION_NOT_RETRIED),
)
"""StartDocumentAnalysis (idempotent by its client token: a retry returns the same job).
``DocumentRefused`` is raised to the workflow, which records the refusal; any other error that is
not retried (access denied, a request Textract refuses) parks for an operator."""


def analysis_poll(shipment: ShipmentInput) -> StepPolicy:
    """GetDocumentAnalysis every ``analysis_poll_seconds`` until the job ends; the attempts cover
    ``max_analysis_minutes``, after which the step parks (an operator's retry polls again)."""
    interval = shipment.analysis_poll_seconds
    attempts = max(1, math.ceil(shipment.max_analysis_minutes * 60.0 / interval)) + 1
    return StepPolicy(
        fails_on=(DOCUMENT_REFUSED,),
        start_to_close=timedelta(minutes=5),
        retry=poll_every(timedelta(seconds=interval), attempts=attempts, not_retried=EXTRACTION_NOT_RETRIED),
    )


DETECT_ENTITIES = StepPolicy(
    fails_on=(DOCUMENT_REFUSED,),
    start_to_close=timedelta(minutes=2),
    retry=exponential(5, first=timedelta(seconds=2), cap=timedelta(seconds=30), not_retried=EXTRACTION_NOT_RETRIED),
)
"""Comprehend DetectEntities over the document's text, chunk by chunk."""

CHECK_FIELDS = StepPolicy(
    start_to_close=timedelta(minutes=2),
    retry=exponential(8, cap=timedelta(seconds=30), not_retried=list(AWS_ERRORS_NOT_RETRIED)),
)
"""Find the type's required fields in the staged outputs and record them."""

RECORD = StepPolicy(start_to_close=timedelta(seconds=30), retry=exponential(20, cap=timedelta(seconds=30)))
"""Postgres rows (arrivals, reviews, rejections): they try hard, then park, so no record is lost."""

CONSOLIDATE = StepPolicy(
    start_to_close=timedelta(minutes=5),
    retry=exponential(10, cap=timedelta(seconds=60), not_retried=list(AWS_ERRORS_NOT_RETRIED)),
)
"""The shipment's record: Postgres, processed/<shipment>/shipment.json, the SNS notice."""
