"""The worker's catalog registers exactly the activities the pipelines' contracts declare.

Each pipeline's ``contracts.ACTIVITIES`` lists the :class:`ActivityRef` s its workflows call;
each package's ``catalog.activities(deps)`` builds the bound methods the worker registers.
The two must agree on every name, and the registered method's signature must take the
reference's input type and return its output type, or a workflow would call an activity
that does not exist, or decode its result as the wrong type.
"""

from __future__ import annotations

import importlib
import typing
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from temporalio.testing import WorkflowEnvironment

from activities import catalog
from activities.common import contracts as common
from activities.common.aws import AwsClients
from activities.common.contracts import ActivityRef
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from tests.conftest import make_deps
from tests.support.mocks import activity_name
from worker.settings import Settings

CONTRACTS: dict[str, ModuleType] = {
    package.__name__.removesuffix(".catalog"): importlib.import_module(
        package.__name__.replace(".catalog", ".contracts")
    )
    for package in catalog.PACKAGES
    if package.__name__ != "activities.common.catalog"
}
"""Each pipeline package's contracts, found from the catalog: a new package is checked without a line here."""
SHARED = (common.CALL_AWS, common.RECORD_DECISION, common.NOTIFY_ATTENTION)


@pytest.fixture
def registered(
    time_env: WorkflowEnvironment,
    sessions: SessionMaker,
    resources: Resources,
    aws: AwsClients,
    partner_http: aiohttp.ClientSession,
    settings: Settings,
) -> dict[str, Callable[..., Any]]:
    built = catalog.build_activities(make_deps(time_env.client, sessions, resources, aws, partner_http, settings))
    names = [activity_name(fn) for fn in built]
    assert len(names) == len(set(names)), "an activity name is registered twice"
    return dict(zip(names, built, strict=True))


def declared() -> list[ActivityRef[Any, Any]]:
    return [ref for module in CONTRACTS.values() for ref in module.ACTIVITIES] + list(SHARED)


def test_every_activity_package_is_in_the_catalog() -> None:
    packages = {path.parent.name for path in Path(catalog.__file__).parent.glob("*/catalog.py")}
    assert {f"activities.{name}" for name in packages} == {*CONTRACTS, "activities.common"}


def test_the_catalog_registers_exactly_the_declared_activities(registered: dict[str, Callable[..., Any]]) -> None:
    assert sorted(registered) == sorted(ref.name for ref in declared())


@pytest.mark.parametrize("ref", declared(), ids=lambda ref: ref.name)
def test_each_activity_takes_and_returns_its_contract_types(
    ref: ActivityRef[Any, Any], registered: dict[str, Callable[..., Any]]
) -> None:
    method = registered[ref.name]
    hints = typing.get_type_hints(method)
    returned = hints.pop("return")
    (taken,) = hints.values()
    assert taken is ref.input
    assert returned is ref.output
