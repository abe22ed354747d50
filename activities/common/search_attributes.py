"""Stepwise's custom search attributes: how operators and `stepwise attention` find executions.

Pure declarations (no I/O), shared by workflows, activities and the dev stack, which
registers them on the dev server.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

PIPELINE = SearchAttributeKey.for_keyword("StepwisePipeline")
"""Which pipeline an execution belongs to (booking, media, ...)."""
BUSINESS_KEY = SearchAttributeKey.for_keyword("StepwiseBusinessKey")
"""The business id the execution works on (request id, job id...)."""
NEEDS_ATTENTION = SearchAttributeKey.for_bool("StepwiseNeedsAttention")
"""True while a step is parked waiting for an operator."""
PARKED_STEP = SearchAttributeKey.for_keyword("StepwiseParkedStep")
"""Name of the parked step, while one is."""

ATTENTION_SINCE = SearchAttributeKey.for_datetime("StepwiseAttentionSince")
"""When the oldest step still waiting started waiting: `stepwise attention` sorts by it."""

ALL = (PIPELINE, BUSINESS_KEY, NEEDS_ATTENTION, PARKED_STEP, ATTENTION_SINCE)
