"""The console's pages: sign-in, inbox, execution, bulk decisions, audit, dead letters, runs.

Every page needs a signed-in operator (else the sign-in page); every POST needs the
session's CSRF token (else 403, nothing done). Decisions carry the signed-in operator's
name, so the audit says who decided without a free-text field. A refused form or query value
and an unreachable Temporal or PostgreSQL answer as console pages (``worker.console.failures``).
"""

from __future__ import annotations

import datetime
import json
import secrets
import uuid
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from activities.common.contracts import GATE_ACTIONS, StepDecision
from activities.common.resources import Resources
from worker.api.app import ApiServices, api_aws
from worker.api.auth import identify
from worker.console.failures import ConsoleRoute
from worker.console.filters import FilterForm, read_filter
from worker.console.render import page, redirect, sessions_of, signed_in
from worker.console.session import Session, csrf_ok
from worker.services.audit import DecisionFilter, list_decisions, parse_time
from worker.services.dead_letters import DeadLetterNotFound, RedriveRefused, peek, queues, redrive
from worker.services.documents import shipment_view
from worker.services.executions import (
    ExecutionView,
    NoSuchExecution,
    check_substitute,
    example_output,
    execution_view,
    waiting_step,
)
from worker.services.operations import (
    PIPELINES,
    DecisionRejected,
    ExecutionNotFound,
    decide_many,
    find_attention,
    send_decision,
)
from worker.services.recon_runs import (
    CampaignNotFound,
    campaign_input,
    campaign_status,
    list_runs,
    start_campaign,
)
from worker.settings import hash_token
from workflows.common.form_answers import MAX_ANSWER, MAX_ANSWER_NAME, MAX_ANSWERS, field_problems

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
SignedIn = Annotated[Session, Depends(signed_in)]
LOGIN_COOKIE = "stepwise_login"
MAX_TEXT = 2000
MAX_SUBSTITUTE = 64_000
ANSWER_PREFIX = "answer:"
"""A form gate's inputs are named ``answer:<field name>``."""
MAX_ANSWER_FIELD = MAX_ANSWER_NAME + len(ANSWER_PREFIX)


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


def _resources(request: Request) -> Resources:
    return Resources(prefix=request.app.state.settings.aws.name_prefix)


def _forbidden(request: Request, session: Session | None) -> HTMLResponse:
    return page(
        request,
        "error.html",
        {"title": "Refused", "message": "The form's CSRF token is missing or wrong: nothing was done. Reload."},
        session=session,
        status=403,
    )


def _safe_next(target: str) -> str:
    """Only a console path may be returned to after sign-in (no open redirect)."""
    target = unquote(target)
    return target if target.startswith("/console/") and not target.startswith("//") else "/console/inbox"


# ----- sign-in ---------------------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, next: str = "") -> Response:
    """The sign-in form; a double-submitted token protects the form itself."""
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", {"login_csrf": token, "next": next, "error": ""}, session=None)
    _set_login_cookie(response, request, token)
    return response


def _set_login_cookie(response: Response, request: Request, token: str) -> None:
    """The sign-in form's CSRF cookie: as the session's, Secure over HTTPS."""
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=600,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.post("/login")
async def login(
    request: Request,
    token: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check an operator's token and start a session; partner tokens are refused."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not csrf or not secrets.compare_digest(expected, csrf):
        return _forbidden(request, None)
    caller = identify(token, request.app.state.settings.api) if token else None
    if caller is None or not caller.is_operator:
        fresh = secrets.token_urlsafe(24)
        message = "That token does not belong to an operator." if caller else "Unknown token."
        refused = page(
            request, "login.html", {"login_csrf": fresh, "next": next, "error": message}, session=None, status=401
        )
        _set_login_cookie(refused, request, fresh)
        return refused
    response = redirect(_safe_next(next))
    sessions_of(request).start(response, request, caller.name, hash_token(token))
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request, session: SignedIn, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the session."""
    if not csrf_ok(session, csrf):
        return _forbidden(request, session)
    response = redirect("/console/login")
    sessions_of(request).end(response)
    return response


@router.get("")
@router.get("/")
async def home() -> Response:
    """The inbox is the console's front page."""
    return redirect("/console/inbox")


# ----- inbox and bulk ---------------------------------------------------------------------------------------


@router.get("/inbox")
async def inbox(
    request: Request,
    session: SignedIn,
    pipeline: Annotated[str, Query(max_length=50)] = "",
    step: Annotated[str, Query(max_length=200)] = "",
    error_type: Annotated[str, Query(max_length=200)] = "",
    min_age_minutes: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    """Every execution waiting for a human, oldest first, with filters and the count."""
    chosen = read_filter(pipeline, step, error_type, min_age_minutes)
    # A refused filter lists nothing rather than everything it failed to narrow.
    items = [] if chosen.problem else await find_attention(_services(request).client, chosen.selection)
    context = {"items": items, "chosen": chosen, "filters": chosen.fields(), "pipelines": PIPELINES}
    return page(request, "inbox.html", context, session=session, status=422 if chosen.problem else 200)


@router.get("/bulk")
async def bulk_form(
    request: Request,
    session: SignedIn,
    pipeline: Annotated[str, Query(max_length=50)] = "",
    step: Annotated[str, Query(max_length=200)] = "",
    error_type: Annotated[str, Query(max_length=200)] = "",
    min_age_minutes: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    """Choose a filter, see what matches, then decide for all of them."""
    chosen = read_filter(pipeline, step, error_type, min_age_minutes)
    context = await _bulk_context(request, chosen)
    return page(request, "bulk.html", context, session=session, status=422 if chosen.problem else 200)


async def _bulk_context(request: Request, chosen: FilterForm) -> dict[str, Any]:
    """What the bulk page shows for a filter: the executions it matches now (none without a valid filter)."""
    selection = chosen.selection
    items = [] if selection.is_empty else await find_attention(_services(request).client, selection)
    return {
        "selection": selection,
        "items": items,
        "chosen": chosen,
        "filters": chosen.fields(),
        "pipelines": PIPELINES,
        "empty_filter": selection.is_empty and not chosen.problem,
        "outcomes": None,
        "error": "",
    }


@router.post("/bulk")
async def bulk_decide(
    request: Request,
    session: SignedIn,
    csrf: Annotated[str, Form(max_length=200)] = "",
    pipeline: Annotated[str, Form(max_length=50)] = "",
    step: Annotated[str, Form(max_length=200)] = "",
    error_type: Annotated[str, Form(max_length=200)] = "",
    min_age_minutes: Annotated[str, Form(max_length=50)] = "",
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    substitute_output: Annotated[str, Form(max_length=MAX_SUBSTITUTE)] = "",
    expected_count: Annotated[int, Form(ge=0)] = 0,
    batch_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Apply one decision to every execution the filter matches; report each one's answer."""
    if not csrf_ok(session, csrf):
        return _forbidden(request, session)
    chosen = read_filter(pipeline, step, error_type, min_age_minutes)
    context = await _bulk_context(request, chosen)
    items = context["items"]
    substitute: Any = None
    if chosen.problem:
        context["error"] = "Nothing was decided: the filter was refused."
    elif context["empty_filter"]:
        context["error"] = "Choose at least one filter: a bulk decision never covers everything by default."
    elif len(items) != expected_count:
        context["error"] = f"{expected_count} matched when you looked, {len(items)} match now: check the list again."
    elif substitute_output.strip():
        try:
            substitute = json.loads(substitute_output)
        except ValueError as error:
            context["error"] = f"substitute output: not JSON: {error}"
    if context["error"]:
        return page(request, "bulk.html", context, session=session, status=422)
    context["outcomes"] = await decide_many(
        _services(request).client,
        items,
        action=action,
        operator=session.operator,
        reason=reason,
        batch_id=batch_id or f"console-bulk-{uuid.uuid4()}",
        substitute_output=substitute,
    )
    return page(request, "bulk.html", context, session=session)


# ----- one execution -------------------------------------------------------------------------------------------


async def _execution_page(
    request: Request,
    session: Session,
    workflow_id: str,
    *,
    errors: dict[str, str] | None = None,
    message: str = "",
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    try:
        view = await execution_view(_services(request).client, workflow_id)
    except NoSuchExecution as error:
        return page(request, "error.html", {"title": "Not found", "message": str(error)}, session=session, status=404)
    examples = {name: example_output(state) for name in view.waiting if (state := view.step(name)) is not None}
    recon = None
    if view.pipeline == "recon" and view.workflow_type == "ReconciliationWorkflow":
        from worker.services.recon import ReconciliationNotFound, reconciliation_status

        try:
            recon = await reconciliation_status(_services(request).client, _services(request).sessions, workflow_id)
        except ReconciliationNotFound:
            recon = None
    shipment = None
    if view.pipeline == "documents" and view.workflow_type == "ShipmentWorkflow" and view.business_key:
        shipment = await shipment_view(_services(request).sessions, _services(request).client, view.business_key)
    return page(
        request,
        "execution.html",
        {
            "view": view,
            "examples": examples,
            "errors": errors or {},
            "refusals": _refusals(view, form or {}, errors or {}),
            "message": message,
            "form": form or {},
            "recon": recon,
            "shipment": shipment,
        },
        session=session,
        status=status,
    )


def _refusals(view: ExecutionView, form: dict[str, str], errors: dict[str, str]) -> list[str]:
    """Errors of a decision whose step has no form on the page now, each saying what was refused.

    A waiting step's errors appear beside its form; a step that is not waiting (a stale page,
    a second operator, a double submit) has no form, so its refusal is said at the top.
    """
    step = form.get("step", "")
    if step in view.waiting and view.step(step) is not None:
        return []
    what = f"{form.get('action') or 'decision'} of {step or 'no step'}"
    return [f"Your {what} was refused: {message}" for message in errors.values()]


@router.get("/executions/{workflow_id:path}")
async def execution(request: Request, session: SignedIn, workflow_id: str, done: str = "") -> Response:
    """Status, input, step timeline and the decision forms that apply now."""
    notice = sessions_of(request).read_notice(done[:2000])
    return await _execution_page(request, session, workflow_id[:1000], message=notice)


@router.post("/decide/{workflow_id:path}")
async def decide(
    request: Request,
    session: SignedIn,
    workflow_id: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
    step: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    substitute_output: Annotated[str, Form(max_length=MAX_SUBSTITUTE)] = "",
    decision_id: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Send one decision; a substitute that does not fit the step's output contract is never sent."""
    if not csrf_ok(session, csrf):
        return _forbidden(request, session)
    workflow_id = workflow_id[:1000]
    form = {"step": step, "action": action, "reason": reason, "substitute_output": substitute_output}
    answers = await _answers(request)
    form.update({ANSWER_PREFIX + name: value for name, value in answers.items()})
    if action in GATE_ACTIONS:
        refused = await _form_gate_problems(request, workflow_id, step, action, reason, answers)
        if refused:
            return await _execution_page(request, session, workflow_id, errors=refused, form=form, status=422)
    substitute: Any = None
    if action == "skip":
        state = await waiting_step(_services(request).client, workflow_id, step)
        if state is None:
            return await _execution_page(
                request,
                session,
                workflow_id,
                errors={f"decision:{step}": f"step {step} is not waiting for a decision"},
                form=form,
                status=409,
            )
        checked = check_substitute(state, substitute_output)
        if checked.error:
            return await _execution_page(
                request,
                session,
                workflow_id,
                errors={f"substitute_output:{step}": checked.error},
                form=form,
                status=422,
            )
        substitute = checked.value
    if action == "abort" and not reason.strip():
        return await _execution_page(
            request, session, workflow_id, errors={f"reason:{step}": "an abort needs a reason"}, form=form, status=422
        )
    decision = StepDecision(
        step=step,
        action=action,
        operator=session.operator,
        reason=reason,
        decision_id=decision_id or f"console-{uuid.uuid4()}",
        substitute_output=substitute,
        answers=answers if action == "approve" else {},
    )
    try:
        outcome = await send_decision(_services(request).client, workflow_id, decision)
    except (DecisionRejected, ExecutionNotFound) as error:
        return await _execution_page(
            request, session, workflow_id, errors={f"decision:{step}": str(error)}, form=form, status=409
        )
    notice = sessions_of(request).sign_notice(outcome.message)
    return redirect(f"/console/executions/{quote(workflow_id, safe='')}?done={notice}")


async def _answers(request: Request) -> dict[str, str]:
    """The posted ``answer:<name>`` inputs of a form gate (names and values cut to their limits)."""
    posted = await request.form()
    answers: dict[str, str] = {}
    for key, value in posted.multi_items():
        if key.startswith(ANSWER_PREFIX) and isinstance(value, str) and len(answers) < MAX_ANSWERS:
            answers[key[len(ANSWER_PREFIX) : MAX_ANSWER_FIELD]] = value[: MAX_ANSWER + 1]
    return answers


async def _form_gate_problems(
    request: Request, workflow_id: str, step: str, action: str, reason: str, answers: dict[str, str]
) -> dict[str, str]:
    """Per-field errors at a gate with a form (the workflow's own rules), before anything is sent.

    The gate checks the same again: what it refuses (the form changed meanwhile) is shown as
    the decision's error.
    """
    state = await waiting_step(_services(request).client, workflow_id, step)
    if state is None or state.form is None:
        return {}
    if action == "reject":
        return {} if reason.strip() else {f"reason:{step}": "a reject needs a reason"}
    return {f"answer:{step}:{name}": problem for name, problem in field_problems(state.form, answers).items()}


# ----- audit -----------------------------------------------------------------------------------------------------


def _time(text: str) -> datetime.datetime | None:
    try:
        return parse_time(text)
    except ValueError:
        return None  # the page says the field was ignored


@router.get("/audit")
async def audit(
    request: Request,
    session: SignedIn,
    workflow_id: Annotated[str, Query(max_length=1000)] = "",
    pipeline: Annotated[str, Query(max_length=50)] = "",
    operator: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The decision log, newest first, filtered by execution, pipeline, operator and time."""
    selection = DecisionFilter(
        workflow_id=workflow_id.strip(),
        pipeline=pipeline if pipeline in PIPELINES else "",
        operator=operator.strip(),
        since=_time(since),
        until=_time(until),
        limit=500,
    )
    rows = await list_decisions(_services(request).sessions, selection)
    filters = {"workflow_id": workflow_id, "pipeline": pipeline, "operator": operator, "since": since, "until": until}
    bad_time = [name for name, text in (("since", since), ("until", until)) if text and _time(text) is None]
    return page(
        request,
        "audit.html",
        {"rows": rows, "filters": filters, "pipelines": PIPELINES, "bad_time": bad_time},
        session=session,
    )


# ----- dead letters ---------------------------------------------------------------------------------------------


@router.get("/dead-letters")
async def dead_letters(request: Request, session: SignedIn, pipeline: str = "media", done: str = "") -> Response:
    """What a pipeline's dead-letter queue holds (read without consuming), with redrive where it applies."""
    names = list(queues(_resources(request)))
    pipeline = pipeline if pipeline in names else "media"
    letters = await peek(api_aws(request), _resources(request), pipeline)
    return page(
        request,
        "dead_letters.html",
        {
            "letters": letters,
            "pipeline": pipeline,
            "pipelines": names,
            "message": sessions_of(request).read_notice(done[:2000]),
            "error": "",
        },
        session=session,
    )


@router.post("/dead-letters/{pipeline}/{message_id}/redrive")
async def redrive_letter(
    request: Request,
    session: SignedIn,
    pipeline: str,
    message_id: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Start the failed case again, audited under the signed-in operator; then remove the message."""
    if not csrf_ok(session, csrf):
        return _forbidden(request, session)
    names = list(queues(_resources(request)))
    if pipeline not in names:
        return page(
            request, "error.html", {"title": "Not found", "message": "no such queue"}, session=session, status=404
        )
    services = _services(request)
    try:
        done = await redrive(
            services.client,
            api_aws(request),
            services.sessions,
            _resources(request),
            pipeline=pipeline,
            message_id=message_id[:200],
            operator=session.operator,
            task_queue=services.task_queue,
            via="console",
        )
    except (DeadLetterNotFound, RedriveRefused) as error:
        letters = await peek(api_aws(request), _resources(request), pipeline)
        context = {"letters": letters, "pipeline": pipeline, "pipelines": names, "message": "", "error": str(error)}
        return page(request, "dead_letters.html", context, session=session, status=409)
    notice = sessions_of(request).sign_notice(f"{done.workflow_id} started again (run {done.run_id})")
    return redirect(f"/console/dead-letters?pipeline={quote(pipeline)}&done={notice}")


# ----- reconciliation runs and campaigns --------------------------------------------------------------------------


@router.get("/reconciliations")
async def reconciliations(
    request: Request,
    session: SignedIn,
    client_id: Annotated[str, Query(max_length=50)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    campaign: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    """Runs from Postgres (newest first), a campaign's progress, and the form that starts one.

    The campaign is asked first: a run's row is committed before the campaign learns its
    outcome, so the runs read afterwards are never older than the outcomes shown.
    """
    view = None
    error = ""
    if campaign:
        try:
            view = await campaign_status(_services(request).client, campaign.strip())
        except CampaignNotFound as missing:
            error = str(missing)
    rows = await list_runs(_services(request).sessions, client_id=client_id.strip(), status=status.strip())
    context = {"rows": rows, "filters": {"client_id": client_id, "status": status}, "campaign": view, "error": error}
    return page(request, "reconciliations.html", context, session=session, status=404 if error else 200)


@router.post("/campaigns")
async def start_campaign_form(
    request: Request,
    session: SignedIn,
    csrf: Annotated[str, Form(max_length=200)] = "",
    campaign: Annotated[str, Form(max_length=50)] = "",
    clients: Annotated[str, Form(max_length=30_000)] = "",
    baseline: Annotated[str, Form(max_length=50)] = "v1",
    candidate: Annotated[str, Form(max_length=50)] = "v2",
    max_parallel: Annotated[int, Form(ge=1, le=100)] = 10,
) -> Response:
    """Start a campaign of the listed clients (one per line or comma-separated) on the demo data."""
    if not csrf_ok(session, csrf):
        return _forbidden(request, session)
    from activities.recon.contracts import ReconciliationInput
    from worker.services.recon import InvalidReconciliationRequest, new_run_label, with_demo_defaults

    names = [name.strip() for name in clients.replace(",", "\n").splitlines() if name.strip()]
    template = with_demo_defaults(
        ReconciliationInput(
            client_id=names[0] if names else "",
            baseline=baseline.strip(),
            candidate=candidate.strip(),
            run=new_run_label(),
            snapshot_uri="",
            report_packs_uri="",
        ),
        _resources(request),
    )
    try:
        request_input = campaign_input(campaign.strip(), template, names, max_parallel)
    except InvalidReconciliationRequest as refused:
        rows = await list_runs(_services(request).sessions)
        context: dict[str, Any] = {"rows": rows, "filters": {}, "campaign": None, "error": str(refused)}
        return page(request, "reconciliations.html", context, session=session, status=422)
    await start_campaign(_services(request).client, _services(request).task_queue, request_input)
    return redirect(f"/console/reconciliations?campaign={quote(campaign.strip(), safe='')}")
