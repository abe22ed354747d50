"""Probes behind `stepwise doctor`: each touches one dependency the way the pipelines do."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.common import search_attributes
from activities.common.aws import AwsClients
from activities.common.db import SessionMaker
from activities.common.resources import Resources
from activities.doctor.contracts import (
    CHECK_DYNAMODB,
    CHECK_POSTGRES,
    CHECK_S3,
    CHECK_SNS,
    CHECK_SQS,
    CHECK_TEMPORAL_VISIBILITY,
    ProbeInput,
    ProbeResult,
)
from activities.models.common import DoctorProbe


class DoctorActivities:
    """One activity per dependency; a failing probe raises with the precise error."""

    def __init__(self, aws: AwsClients, sessions: SessionMaker, resources: Resources, client: Client) -> None:
        self._aws = aws
        self._sessions = sessions
        self._resources = resources
        self._client = client

    @activity.defn(name=CHECK_POSTGRES.name)
    async def check_postgres(self, probe: ProbeInput) -> ProbeResult:
        """Write and read a probe row, and report the schema revision."""
        async with self._sessions.begin() as session:
            await session.execute(insert(DoctorProbe).values(probe_id=probe.probe_id).on_conflict_do_nothing())
            found = await session.scalar(select(DoctorProbe.probe_id).where(DoctorProbe.probe_id == probe.probe_id))
            revision = await session.scalar(text("SELECT version_num FROM alembic_version"))
        if found is None:
            raise ApplicationError("probe row written but not read back", non_retryable=True)
        return ProbeResult("postgres", f"read/write ok, schema revision {revision}")

    @activity.defn(name=CHECK_S3.name)
    async def check_s3(self, probe: ProbeInput) -> ProbeResult:
        """Every bucket exists; a probe object round-trips through the first one."""
        for bucket in self._resources.buckets:
            await self._aws.call("s3", "head_bucket", Bucket=bucket)
        key = f"doctor/{probe.probe_id}.txt"
        bucket = self._resources.buckets[0]
        await self._aws.call("s3", "put_object", Bucket=bucket, Key=key, Body=probe.probe_id.encode())
        if (await self._aws.read_object(bucket, key)).decode() != probe.probe_id:
            raise ApplicationError(f"s3://{bucket}/{key} read back different content", non_retryable=True)
        return ProbeResult("s3", f"{len(self._resources.buckets)} buckets, object round-trip ok")

    @activity.defn(name=CHECK_DYNAMODB.name)
    async def check_dynamodb(self, probe: ProbeInput) -> ProbeResult:
        """Every table is ACTIVE; a conditional probe item is written."""
        for table in self._resources.tables:
            described = await self._aws.call("dynamodb", "describe_table", TableName=table.name)
            status = described["Table"]["TableStatus"]
            if status != "ACTIVE":
                raise ApplicationError(f"table {table.name} is {status}", non_retryable=True)
        await self._aws.call(
            "dynamodb",
            "put_item",
            TableName=self._resources.doctor_table,
            Item={"probeId": {"S": probe.probe_id}},
        )
        return ProbeResult("dynamodb", f"{len(self._resources.tables)} tables ACTIVE, write ok")

    @activity.defn(name=CHECK_SQS.name)
    async def check_sqs(self, probe: ProbeInput) -> ProbeResult:
        """Every queue resolves and reports its depth."""
        depths = []
        for queue in self._resources.queues:
            url = (await self._aws.call("sqs", "get_queue_url", QueueName=queue.name))["QueueUrl"]
            attributes = await self._aws.call(
                "sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            depths.append(f"{queue.name}={attributes['Attributes']['ApproximateNumberOfMessages']}")
        return ProbeResult("sqs", "depths " + ", ".join(depths))

    @activity.defn(name=CHECK_SNS.name)
    async def check_sns(self, probe: ProbeInput) -> ProbeResult:
        """Every topic exists (creating a topic is idempotent and returns its ARN)."""
        for topic in self._resources.topics:
            arn = (await self._aws.call("sns", "create_topic", Name=topic))["TopicArn"]
            await self._aws.call("sns", "get_topic_attributes", TopicArn=arn)
        return ProbeResult("sns", f"{len(self._resources.topics)} topics")

    @activity.defn(name=CHECK_TEMPORAL_VISIBILITY.name)
    async def check_temporal_visibility(self, probe: ProbeInput) -> ProbeResult:
        """Stepwise's search attributes are registered and visibility answers a query."""
        from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

        response = await self._client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=self._client.namespace)
        )
        missing = [key.name for key in search_attributes.ALL if key.name not in response.custom_attributes]
        if missing:
            raise ApplicationError(f"search attributes not registered: {', '.join(missing)}", non_retryable=True)
        count = await self._client.count_workflows("WorkflowType = 'DoctorWorkflow'")
        return ProbeResult("temporal-visibility", f"search attributes ok, {count.count} doctor runs visible")
