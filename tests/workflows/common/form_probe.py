"""A small workflow for step control's form gate and ``wait_for`` (testing the component, not a product)."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.common.contracts import AttentionPolicy, FormField, ReviewForm

from workflows.common.step_control import StepControl, StepControlHandlers

SUPPLY_SIGNAL = "form_probe.supply"
"""Signal: one more item arrives (a ``wait_for`` round waits for as many items as its number)."""


@dataclass(frozen=True)
class FormProbeInput:
    """Wait for ``rounds`` rounds of items first (each its own ``collect`` round), then maybe a form gate."""

    form: ReviewForm | None = None
    gate: bool = True
    rounds: int = 0
    attention: AttentionPolicy | None = None
    audience: str = ""


@dataclass(frozen=True)
class FormProbeResult:
    """The gate's answer (approved None when there was no gate)."""

    approved: bool | None = None
    operator: str = ""
    reason: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    rounds: int = 0


@workflow.defn
class FormProbeWorkflow(StepControlHandlers):
    """Waits for items, then for a reviewer's answers at a gate with a form."""

    def __init__(self) -> None:
        self.steps = StepControl("probe")
        self.supplied = 0

    @workflow.signal(name=SUPPLY_SIGNAL)
    def supply(self) -> None:
        """One more item."""
        self.supplied += 1

    @workflow.run
    async def run(self, request: FormProbeInput) -> FormProbeResult:
        for number in range(1, request.rounds + 1):
            await self.steps.wait_for(
                "collect",
                lambda number=number: self.supplied >= number,  # type: ignore[misc]
                describe=lambda number=number: f"probe is missing {number - self.supplied} item(s)",  # type: ignore[misc]
                attention=request.attention,
                audience=request.audience,
            )
        result = FormProbeResult(rounds=request.rounds)
        if request.gate:
            answer = await self.steps.gate(
                "review",
                subject="probe review",
                body="check the fields",
                form=request.form,
                audience=request.audience,
                attention=None if request.rounds else request.attention,
            )
            result = FormProbeResult(
                approved=answer.approved,
                operator=answer.operator,
                reason=answer.reason,
                answers=answer.answers,
                rounds=request.rounds,
            )
        await self.steps.settle()
        return result


INVOICE_FORM = ReviewForm(
    fields=[
        FormField(
            name="billing_company",
            label="Billing company",
            kind="text",
            value="Northwind Traders",
            confidence=0.941,
            source='entity ORGANIZATION #1 "Northwind Traders"',
            reason="confidence 0.941 below 0.95",
        ),
        FormField(name="invoice_date", label="Invoice date", kind="date", value="", reason="not found"),
        FormField(
            name="total", label="Total", kind="amount", value="12480.00", confidence=0.9, source='form key "Total"'
        ),
        FormField(name="currency", label="Currency", kind="currency", value="USD", confidence=0.92),
        FormField(name="hs_codes", label="HS codes", kind="codes", value="8471.30, 8473.30", confidence=0.93),
    ],
    context="invoice.pdf of SHP-1",
)
"""A form with one field of every kind."""

VALID_ANSWERS = {
    "billing_company": "Northwind Traders Ltd",
    "invoice_date": "2026-11-28",
    "total": "12480.00",
    "currency": "USD",
    "hs_codes": "8471.30, 8473.30",
}
