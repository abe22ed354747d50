"""A share of comparisons: each report compared for real (S3 in, diff and row out); one that
fails is named with its error instead of failing the share."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.models.recon import ReconReportResult
from activities.recon.activities import ReconActivities
from activities.recon.contracts import CompareInput, CompareShare, ReportSpec, RunRecord


async def test_a_share_compares_each_report_and_names_the_one_that_failed(
    aws: AwsClients, sessions: SessionMaker, resources: Resources
) -> None:
    recon = ReconActivities(aws, sessions, resources, providers={})
    run_id = f"recon-acme-s{uuid.uuid4().hex[:8]}"
    await ActivityEnvironment().run(recon.record_run, RunRecord(run_id, "acme", "v1", "v2", "RUNNING"))
    bucket = resources.reports_bucket
    files = {
        "same/v1.csv": "id,amount\n1,10\n2,20\n",
        "same/v2.csv": "id,amount\n1,10\n2,20\n",
        "moved/v1.csv": "id,amount\n1,10\n",
        "moved/v2.csv": "id,amount\n1,11\n",
    }
    for key, body in files.items():
        await aws.call("s3", "put_object", Bucket=bucket, Key=f"{run_id}/{key}", Body=body.encode())

    def comparison(name: str, folder: str) -> CompareInput:
        base = f"s3://{bucket}/{run_id}/{folder}"
        return CompareInput(run_id, ReportSpec(name, ["id"], f"{name}.sql"), f"{base}/v1.csv", f"{base}/v2.csv", "0")

    share = CompareShare([comparison("same", "same"), comparison("gone", "gone"), comparison("moved", "moved")])
    compared = await ActivityEnvironment().run(recon.compare_share, share)
    assert [(r.report, r.status) for r in compared.results] == [("same", "matched"), ("moved", "different")]
    assert [(f.report, f.error_type) for f in compared.failed] == [("gone", "AwsNotFound")]
    async with sessions() as session:
        rows = (await session.scalars(select(ReconReportResult).where(ReconReportResult.run_id == run_id))).all()
    assert sorted((row.report, row.status) for row in rows) == [("moved", "different"), ("same", "matched")]
