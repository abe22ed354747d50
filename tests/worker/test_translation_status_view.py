"""The translation project view never pairs a status past preprocessing with no project row.

Preprocessing commits the project's row (TRANSLATING, its pairs, characters and prices),
then the workflow's status moves on to TRANSLATING. A view that found no row and then
asked the workflow could land between the two and say TRANSLATING with no pairs, no
characters and no cost. Here preprocessing commits while the view is asking the
workflow, the moment that tore the view.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from temporalio.client import WorkflowExecutionStatus

from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.translation import TranslationPair, TranslationProject
from activities.translation.contracts import ProjectProgress, project_id, project_workflow_id
from tests.support.stub_temporal import Described, GoneWorkflow, OneWorkflowClient
from worker.services.translation import project_view
from workflows.translation.project import PROGRESS_QUERY

LATE = "translation-inbound/acme/late.xlf"
RESOURCES = Resources()
"""Only the bucket's name is read (for the outbound prefix): nothing on the AWS emulator is needed."""


def _project_row(customer: str, project: str, status: str, characters: int) -> TranslationProject:
    pid = project_id(customer, project)
    return TranslationProject(
        project_id=pid,
        customer=customer,
        project=project,
        workflow_id=project_workflow_id(customer, project),
        owner=customer,
        status=status,
        files=1,
        quarantined=0,
        characters=characters,
        cost_usd=Decimal("0.02") if status == "DELIVERED" else Decimal("0"),
        price_standard=Decimal("15"),
        price_custom=Decimal("60"),
    )


class _PreprocessingMidQuery:
    """A project whose preprocessing commits its rows just before the workflow says TRANSLATING."""

    def __init__(self, sessions: SessionMaker, customer: str, project: str) -> None:
        self._sessions = sessions
        self._customer = customer
        self._project = project
        self._preprocessed = False

    async def describe(self) -> Described:
        return Described(WorkflowExecutionStatus.RUNNING, owner=self._customer)

    async def query(self, name: str, result_type: type) -> ProjectProgress:
        assert name == PROGRESS_QUERY
        if not self._preprocessed:
            self._preprocessed = True
            async with self._sessions.begin() as session:
                session.add(_project_row(self._customer, self._project, "TRANSLATING", 1500))
                await session.flush()
                session.add(
                    TranslationPair(
                        project_id=project_id(self._customer, self._project),
                        source_language="en",
                        target_language="es",
                        state="PLANNED",
                        files=1,
                        segments=12,
                        characters=1500,
                        price_per_million=Decimal("15"),
                    )
                )
        return ProjectProgress("TRANSLATING", 1, ["en-es"], 0, late_files=[LATE])


class _Collecting:
    """A project still collecting its files: no row yet, the owner only in the memo."""

    async def describe(self) -> Described:
        return Described(WorkflowExecutionStatus.RUNNING, owner="acme")

    async def query(self, name: str, result_type: type) -> ProjectProgress:
        return ProjectProgress("COLLECTING", 3, [], 0)


def _project() -> str:
    return f"view-{uuid.uuid4().hex[:8]}"


async def test_a_status_past_preprocessing_comes_with_the_project_row(sessions: SessionMaker) -> None:
    project = _project()
    client = OneWorkflowClient(_PreprocessingMidQuery(sessions, "acme", project))
    view = await project_view(sessions, client, RESOURCES, "acme", project)  # type: ignore[arg-type]
    assert view is not None
    assert (view.status, view.characters, [(p.target_language, p.state) for p in view.pairs]) == (
        "TRANSLATING",
        1500,
        [("es", "PLANNED")],
    )
    assert (view.owner, view.late_files, view.created_at is not None) == ("acme", [LATE], True)


async def test_a_project_still_collecting_is_read_from_the_workflow(sessions: SessionMaker) -> None:
    project = _project()
    view = await project_view(sessions, OneWorkflowClient(_Collecting()), RESOURCES, "acme", project)  # type: ignore[arg-type]
    assert view is not None
    assert (view.status, view.files, view.owner, view.pairs, view.created_at) == ("COLLECTING", 3, "acme", [], None)
    assert view.workflow_id == project_workflow_id("acme", project)


async def test_a_project_neither_temporal_nor_postgres_knows_is_none(sessions: SessionMaker) -> None:
    assert await project_view(sessions, OneWorkflowClient(GoneWorkflow()), RESOURCES, "acme", _project()) is None  # type: ignore[arg-type]


async def test_a_finished_project_gone_from_temporal_is_read_from_postgres(sessions: SessionMaker) -> None:
    project = _project()
    async with sessions.begin() as session:
        session.add(_project_row("acme", project, "DELIVERED", 1500))
    view = await project_view(sessions, OneWorkflowClient(GoneWorkflow()), RESOURCES, "acme", project)  # type: ignore[arg-type]
    assert view is not None
    assert (view.status, view.characters, view.cost_usd, view.late_files) == ("DELIVERED", 1500, "0.02", [])
