"""The AWS emulator (moto in server mode) and the idempotent bootstrap of Stepwise's resources.

:func:`apply_resources` creates what :class:`activities.common.resources.Resources` declares
and leaves what exists alone, so it is safe on every start and against a real account.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from activities.b2b.split import INBOUND_PREFIX
from activities.common.resources import Resources
from activities.documents.contracts import INBOUND_PREFIX as DOCUMENTS_INBOUND_PREFIX
from activities.translation.contracts import INBOUND_PREFIX as TRANSLATION_INBOUND_PREFIX
from worker.devstack.processes import ManagedProcess

EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def aws_state_dir(state_dir: Path) -> Path:
    """Where the emulator keeps its snapshot and journal (:mod:`worker.devstack.aws_persistence`)."""
    return (state_dir / "aws").resolve()


def moto_process(port: int, state_dir: Path, *, persist: bool = True) -> ManagedProcess:
    """moto's server on loopback; with ``persist``, its state survives a restart (at some CPU cost)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(EMULATOR_ENV)
    env.pop("MOTO_ENABLE_RECORDING", None)  # moto reads any non-empty value as "on", even "False"
    args = [sys.executable, "-m", "worker.devstack.aws_server", "--host", "127.0.0.1", "--port", str(port)]
    if persist:
        args += ["--state-dir", str(aws_state_dir(state_dir))]
    return ManagedProcess("aws-emulator", args, state_dir / "logs" / "moto.log", env)


def _ignore(error: botocore.exceptions.ClientError, *codes: str) -> None:
    if error.response.get("Error", {}).get("Code") not in codes:
        raise error


def apply_resources(resources: Resources, session: boto3.session.Session | None = None) -> dict[str, str]:
    """Create every declared bucket, table, queue (with redrive) and topic; return topic ARNs."""
    session = session or boto3.session.Session()
    s3: Any = session.client("s3")
    for bucket in resources.buckets:
        try:
            s3.create_bucket(Bucket=bucket)
        except botocore.exceptions.ClientError as error:
            _ignore(error, "BucketAlreadyOwnedByYou", "BucketAlreadyExists")
    dynamodb: Any = session.client("dynamodb")
    existing = set(dynamodb.list_tables()["TableNames"])
    for table in resources.tables:
        if table.name not in existing:
            dynamodb.create_table(
                TableName=table.name,
                KeySchema=[{"AttributeName": table.partition_key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": table.partition_key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
    sqs: Any = session.client("sqs")
    for queue in resources.queues:
        attributes: dict[str, str] = {}
        if queue.dead_letter_queue:
            dlq_url = sqs.get_queue_url(QueueName=queue.dead_letter_queue)["QueueUrl"]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
            )
        sqs.create_queue(QueueName=queue.name, Attributes=attributes)
    apply_b2b_intake_notification(resources, s3, sqs)
    apply_translation_intake_notification(resources, s3, sqs)
    apply_documents_intake_notification(resources, s3, sqs)
    sns: Any = session.client("sns")
    return {topic: sns.create_topic(Name=topic)["TopicArn"] for topic in resources.topics}


B2B_INTAKE_NOTIFICATION_ID = "stepwise-b2b-intake"
TRANSLATION_INTAKE_NOTIFICATION_ID = "stepwise-translation-intake"
DOCUMENTS_INTAKE_NOTIFICATION_ID = "stepwise-documents-intake"


def apply_b2b_intake_notification(resources: Resources, s3: Any, sqs: Any) -> None:
    """Route ObjectCreated events under ``b2b-inbound/`` of the B2B bucket to the B2B intake queue."""
    apply_intake_notification(
        s3, sqs, resources.b2b_bucket, resources.b2b_intake_queue, INBOUND_PREFIX, B2B_INTAKE_NOTIFICATION_ID
    )


def apply_translation_intake_notification(resources: Resources, s3: Any, sqs: Any) -> None:
    """Route ObjectCreated events under ``translation-inbound/`` to the translation intake queue."""
    apply_intake_notification(
        s3,
        sqs,
        resources.translation_bucket,
        resources.translation_intake_queue,
        TRANSLATION_INBOUND_PREFIX,
        TRANSLATION_INTAKE_NOTIFICATION_ID,
    )


def apply_documents_intake_notification(resources: Resources, s3: Any, sqs: Any) -> None:
    """Route ObjectCreated events under ``documents-inbound/`` to the documents intake queue."""
    apply_intake_notification(
        s3,
        sqs,
        resources.documents_bucket,
        resources.documents_intake_queue,
        DOCUMENTS_INBOUND_PREFIX,
        DOCUMENTS_INTAKE_NOTIFICATION_ID,
    )


def apply_intake_notification(s3: Any, sqs: Any, bucket: str, queue: str, prefix: str, notification_id: str) -> None:
    """Route ObjectCreated events under ``prefix`` of ``bucket`` to ``queue``.

    Other notification entries of the bucket are kept; ours is replaced by its id, so
    applying twice leaves one entry. The queue policy lets S3 (this bucket only) send.
    """
    queue_url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bucket_arn = f"arn:aws:s3:::{bucket}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "S3SendsIntake",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnLike": {"aws:SourceArn": bucket_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    queues = [q for q in current.get("QueueConfigurations", []) if q.get("Id") != notification_id]
    queues.append(
        {
            "Id": notification_id,
            "QueueArn": queue_arn,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
        }
    )
    current["QueueConfigurations"] = queues
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)
