"""The sandbox re-executes only a workflow's own module (and its packages) for every run.

Temporal's sandbox gives each run fresh copies of the modules it does not pass through, and
executing them again is CPU on every run (DESIGN §3: everything a workflow module imports
goes through ``workflow.unsafe.imports_passed_through()``). ``from workflows.x import
policies`` looks passed through but is not: the sandbox already holds its own copy of the
package ``workflows.x``, and Python loads the submodule from there, so the policies ran
again on every run. This test replays committed histories twice in a fresh interpreter and
records every module the second replay executes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.histories import record_doctor, record_documents, record_poller, record_recon, record_translation

ROOT = Path(__file__).resolve().parents[2]
RECORDED_IDS = (
    record_doctor.RECORDED_WORKFLOW_IDS
    | record_documents.RECORDED_WORKFLOW_IDS
    | record_poller.RECORDED_WORKFLOW_IDS
    | record_recon.RECORDED_WORKFLOW_IDS
    | record_translation.RECORDED_WORKFLOW_IDS
    | {"recon-demo-parent": "recon-acme-t25cc349b12", "recon-demo-environment": "recon-acme-t25cc349b12-v2"}
)
"""The workflow ids histories were recorded under, where children's ids derive from them."""

CASES = {
    "booking_confirmed.json": "workflows.booking.workflow:BookingWorkflow",
    "b2b_transaction_stored.json": "workflows.b2b.transaction:B2BTransactionWorkflow",
    "b2b_batch_completed.json": "workflows.b2b.batch:B2BBatchWorkflow",
    "doctor_all_healthy.json": "workflows.doctor.workflow:DoctorWorkflow",
    "media_completed.json": "workflows.media.workflow:MediaWorkflow",
    "poller_job_completed.json": "workflows.poller.job:PollerJobWorkflow",
    "poller_slice_page_skipped.json": "workflows.poller.slice:PollerSliceWorkflow",
    "poller_retention_purged.json": "workflows.poller.retention:PollerRetentionWorkflow",
    "recon-demo-parent.json": "workflows.recon.reconciliation:ReconciliationWorkflow",
    "recon-demo-environment.json": "workflows.recon.reconciliation:VersionEnvironmentWorkflow",
    "recon_campaign_completed.json": "workflows.recon.campaign:ReconciliationCampaignWorkflow",
    "shipment_reviewed_and_consolidated.json": "workflows.documents.shipment:ShipmentWorkflow",
    "translation_project_delivered.json": "workflows.translation.project:TranslationProjectWorkflow",
    "translation_pair_resubmitted.json": "workflows.translation.pair:TranslationPairWorkflow",
}


PROBE = """
import asyncio, importlib, json, sys
from importlib import _bootstrap_external
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from worker.speedups.sandbox import WORKFLOW_RUNNER

executed = []
load = _bootstrap_external._LoaderBasics.exec_module

def recording(loader, module):
    executed.append(module.__name__)
    return load(loader, module)

_bootstrap_external._LoaderBasics.exec_module = recording

async def main(cases, ids):
    found = {}
    for history_file, target in cases.items():
        module, name = target.split(":")
        workflow_class = getattr(importlib.import_module(module), name)
        path = Path("tests/histories", history_file)
        text = path.read_text()
        workflow_id = ids.get(path.stem, path.stem)
        replayer = Replayer(workflows=[workflow_class], workflow_runner=WORKFLOW_RUNNER)
        await replayer.replay_workflow(WorkflowHistory.from_json(workflow_id, text))  # loads what a first run loads
        executed.clear()
        await replayer.replay_workflow(WorkflowHistory.from_json(workflow_id, text))
        found[target] = sorted(set(executed))
    print(json.dumps(found))

asyncio.run(main(json.loads(sys.argv[1]), json.loads(sys.argv[2])))
"""


def test_each_run_re_executes_only_the_workflow_module_and_its_packages() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(CASES), json.dumps(RECORDED_IDS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(found) == set(CASES.values())
    extra = {}
    for target, executed in found.items():
        parts = target.split(":")[0].split(".")
        own = {".".join(parts[: i + 1]) for i in range(len(parts))}  # workflows, workflows.x, the module
        assert own <= set(executed), f"{target}: the probe did not see its own module run ({executed})"
        extra[target] = sorted(set(executed) - own)
    assert extra == {target: [] for target in found}, "modules executed again on every run"
