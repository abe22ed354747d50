"""The Translate emulator's batch jobs, terminology and parallel data, through plain boto3.

boto3 reaches the emulator through ``AWS_ENDPOINT_URL_TRANSLATE`` and moto's S3 through
``AWS_ENDPOINT_URL`` (the ``emulators`` and ``aws_endpoint`` fixtures), as the activities do.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from lxml import etree

from activities.common.resources import Resources
from worker.devstack.emulators.translate import TranslateEmulator, pseudo_translate
from worker.devstack.emulators.translate_jobs import Glossary, RequestContext, TranslateJobs, translate_xliff

BUCKET = "tp-emulator-test"
ROLE = "arn:aws:iam::123456789012:role/translate-batch"
NS12 = {"x": "urn:oasis:names:tc:xliff:document:1.2"}
XLIFF_12 = b"""<?xml version="1.0" encoding="UTF-8"?>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">
  <file source-language="en" datatype="plaintext" original="guide.txt">
    <body>
      <trans-unit id="1"><source>Open the Stepwise console.</source></trans-unit>
      <trans-unit id="2"><source>Press <g id="b">Save</g> to keep it.</source></trans-unit>
      <trans-unit id="3"><source>Stepwiser tools are not Stepwise.</source></trans-unit>
    </body>
  </file>
</xliff>
"""
WELCOME_12 = b"""<?xml version="1.0" encoding="UTF-8"?>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">
  <file source-language="en" datatype="plaintext" original="welcome">
    <body>
      <trans-unit id="u1"><source>Welcome to Stepwise.</source></trans-unit>
      <trans-unit id="u2::s1"><source>First step.</source></trans-unit>
      <trans-unit id="u2::s2"><source>Last step.</source></trans-unit>
    </body>
  </file>
</xliff>
"""
XLIFF_20 = b"""<?xml version="1.0" encoding="UTF-8"?>
<xliff version="2.0" xmlns="urn:oasis:names:tc:xliff:document:2.0" srcLang="en">
  <file id="f1">
    <unit id="u1"><segment><source>Welcome to Stepwise.</source></segment></unit>
    <unit id="u2"><segment><source>First step.</source></segment><segment><source>Last step.</source></segment></unit>
  </file>
</xliff>
"""
UNSUPPORTED_2_0 = {
    "errorCode": "UnsupportedDocument",
    "errorMessage": "Unsupported XLIFF version 2.0: Amazon Translate supports XLIFF 1.2 only",
}
TERMS_CSV = b"en,es,fr\nStepwise,Pasoapaso,Pasapas\nSave,Guardar,Enregistrer\n"


@pytest.fixture(scope="module")
def s3(resources: Resources) -> Any:
    """moto's S3 with this file's bucket."""
    client = boto3.client("s3")
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def emulator(emulators: Any) -> Iterator[TranslateEmulator]:
    """The Translate emulator, its batch-job switches reset after the test."""
    translate: TranslateEmulator = emulators.state.translate
    translate.configure_jobs(drop_segments=0, fail_jobs=0, polls_in_progress=2)
    yield translate
    translate.inject(0)
    translate.configure_jobs(drop_segments=0, fail_jobs=0, polls_in_progress=2)


@pytest.fixture
def translate(emulator: TranslateEmulator) -> Any:
    """A Translate client that does not retry, so injected faults reach the test."""
    return boto3.client("translate", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def terminology(translate: Any) -> str:
    """A custom terminology (en -> es, fr) named for this test."""
    name = f"tp-terms-{uuid.uuid4().hex[:8]}"
    imported = translate.import_terminology(
        Name=name, MergeStrategy="OVERWRITE", TerminologyData={"File": TERMS_CSV, "Format": "CSV"}
    )
    assert imported["TerminologyProperties"]["TermCount"] == 2
    return name


@pytest.fixture
def job_uris(s3: Any) -> tuple[str, str]:
    """Input prefix holding two XLIFF 1.2 documents, and an output prefix."""
    return _inputs(s3, {"guide.xlf": XLIFF_12, "welcome.xliff": WELCOME_12})


def _inputs(s3: Any, documents: dict[str, bytes]) -> tuple[str, str]:
    root = f"jobs/{uuid.uuid4().hex}"
    for name, body in documents.items():
        s3.put_object(Bucket=BUCKET, Key=f"{root}/input/{name}", Body=body)
    return f"s3://{BUCKET}/{root}/input/", f"s3://{BUCKET}/{root}/output/"


def _start(translate: Any, uris: tuple[str, str], **extra: Any) -> str:
    params: dict[str, Any] = {
        "JobName": f"tp-job-{uuid.uuid4().hex[:8]}",
        "InputDataConfig": {"S3Uri": uris[0], "ContentType": "application/x-xliff+xml"},
        "OutputDataConfig": {"S3Uri": uris[1]},
        "DataAccessRoleArn": ROLE,
        "SourceLanguageCode": "en",
        "TargetLanguageCodes": ["es"],
        **extra,
    }
    started = translate.start_text_translation_job(**params)
    assert started["JobStatus"] == "SUBMITTED"
    return str(started["JobId"])


def _statuses_until_done(translate: Any, job_id: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for _ in range(10):
        seen.append(translate.describe_text_translation_job(JobId=job_id)["TextTranslationJobProperties"])
        if seen[-1]["JobStatus"] not in ("SUBMITTED", "IN_PROGRESS"):
            return seen
    raise AssertionError(f"job {job_id} still running: {seen[-1]}")


def _read(s3: Any, uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _targets(document: bytes, path: str, namespaces: dict[str, str]) -> list[str | None]:
    root = etree.fromstring(document)
    return [
        "".join(holder.find("x:target", namespaces).itertext())
        if holder.find("x:target", namespaces) is not None
        else None
        for holder in root.xpath(path, namespaces=namespaces)
    ]


def test_a_job_fills_every_target_and_applies_the_terminology(
    translate: Any, s3: Any, terminology: str, job_uris: tuple[str, str]
) -> None:
    job_id = _start(translate, job_uris, TerminologyNames=[terminology])
    seen = _statuses_until_done(translate, job_id)
    assert [job["JobStatus"] for job in seen] == ["IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]
    done = seen[-1]
    folder = f"{job_uris[1]}123456789012-TranslateText-{job_id}/"
    assert done["OutputDataConfig"]["S3Uri"] == folder  # Translate reports its job folder
    assert done["JobDetails"] == {
        "TranslatedDocumentsCount": 2,
        "DocumentsWithErrorsCount": 0,
        "InputDocumentsCount": 2,
    }
    assert _targets(_read(s3, f"{folder}es.guide.xlf"), "//x:trans-unit", NS12) == [
        "[es] Open the Pasoapaso console.",
        "[es] Press Guardar to keep it.",
        "[es] Stepwiser tools are not Pasoapaso.",  # whole words only
    ]
    guide = etree.fromstring(_read(s3, f"{folder}es.guide.xlf"))
    assert guide.find(".//x:file", NS12).get("target-language") == "es"
    assert guide.find(".//x:trans-unit[@id='2']/x:target/x:g", NS12).get("id") == "b"  # inline tag kept
    assert _targets(_read(s3, f"{folder}es.welcome.xliff"), "//x:trans-unit", NS12) == [
        "[es] Welcome to Pasoapaso.",
        "[es] First step.",
        "[es] Last step.",
    ]
    details = json.loads(_read(s3, f"{folder}details/es.auxiliary-translation-details.json"))
    assert details["documentCountWithCustomerError"] == "0"
    assert sorted(d["targetFile"] for d in details["details"]) == ["es.guide.xlf", "es.welcome.xliff"]
    applied = {d["sourceFile"]: d["auxiliaryData"]["appliedTerminologies"][0]["name"] for d in details["details"]}
    assert applied == {"guide.xlf": terminology, "welcome.xliff": terminology}


def test_the_same_client_token_starts_one_job(
    translate: Any, emulator: TranslateEmulator, job_uris: tuple[str, str]
) -> None:
    before = (httpx.get(f"{_base(translate)}/_emulator/stats")).json()["jobs_started"]
    token = str(uuid.uuid4())
    first = _start(translate, job_uris, ClientToken=token, JobName="tp-idempotent-start")
    second = translate.start_text_translation_job(
        JobName="tp-idempotent-start",
        InputDataConfig={"S3Uri": job_uris[0], "ContentType": "application/x-xliff+xml"},
        OutputDataConfig={"S3Uri": job_uris[1]},
        DataAccessRoleArn=ROLE,
        SourceLanguageCode="en",
        TargetLanguageCodes=["es"],
        ClientToken=token,
    )
    assert second["JobId"] == first
    assert httpx.get(f"{_base(translate)}/_emulator/stats").json()["jobs_started"] == before + 1
    listed = translate.list_text_translation_jobs(Filter={"JobName": "tp-idempotent-start"})
    assert [job["JobId"] for job in listed["TextTranslationJobPropertiesList"]] == [first]


def test_a_dropped_segment_leaves_the_last_unit_of_each_document_without_target(
    translate: Any, s3: Any, emulator: TranslateEmulator, job_uris: tuple[str, str]
) -> None:
    emulator.configure_jobs(drop_segments=1, polls_in_progress=0)
    job_id = _start(translate, job_uris)
    (done,) = _statuses_until_done(translate, job_id)
    assert done["JobStatus"] == "COMPLETED"  # silently incomplete, as the real failure looks
    folder = done["OutputDataConfig"]["S3Uri"]
    assert _targets(_read(s3, f"{folder}es.guide.xlf"), "//x:trans-unit", NS12) == [
        "[es] Open the Stepwise console.",
        "[es] Press Save to keep it.",
        None,
    ]
    assert _targets(_read(s3, f"{folder}es.welcome.xliff"), "//x:trans-unit", NS12) == [
        "[es] Welcome to Stepwise.",
        "[es] First step.",
        None,
    ]
    (next_done,) = _statuses_until_done(translate, _start(translate, job_uris))
    assert None not in _targets(
        _read(s3, f"{next_done['OutputDataConfig']['S3Uri']}es.guide.xlf"), "//x:trans-unit", NS12
    )


def test_a_failed_job_says_why_and_writes_nothing(
    translate: Any, s3: Any, emulator: TranslateEmulator, job_uris: tuple[str, str]
) -> None:
    switched = httpx.post(
        f"{_base(translate)}/_emulator/jobs", json={"fail_jobs": 1, "reason": "Access denied to the input bucket"}
    )
    assert switched.status_code == 200 and switched.json()["fail_jobs"] == 1
    job_id = _start(translate, job_uris)
    done = _statuses_until_done(translate, job_id)[-1]
    assert (done["JobStatus"], done["Message"]) == ("FAILED", "Access denied to the input bucket")
    output = job_uris[1].removeprefix(f"s3://{BUCKET}/")
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=output).get("KeyCount") == 0


def test_throttling_reaches_boto3_as_a_client_error(
    translate: Any, emulator: TranslateEmulator, job_uris: tuple[str, str]
) -> None:
    job_id = _start(translate, job_uris)
    emulator.inject(1, "ThrottlingException")
    with pytest.raises(ClientError) as throttled:
        translate.describe_text_translation_job(JobId=job_id)
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    assert translate.describe_text_translation_job(JobId=job_id)["TextTranslationJobProperties"]["JobId"] == job_id


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"TerminologyNames": ["tp-no-such-terms"]}, "ResourceNotFoundException"),
        ({"ParallelDataNames": ["tp-no-such-memory"]}, "ResourceNotFoundException"),
        ({"TargetLanguageCodes": ["tlh"]}, "UnsupportedLanguagePairException"),
        ({"InputDataConfig": {"S3Uri": "s3://b/in/", "ContentType": "image/png"}}, "InvalidParameterValueException"),
    ],
)
def test_a_job_translate_would_refuse_is_refused_and_not_created(
    translate: Any, job_uris: tuple[str, str], extra: dict[str, Any], code: str
) -> None:
    before = httpx.get(f"{_base(translate)}/_emulator/stats").json()["jobs_started"]
    with pytest.raises(ClientError) as refused:
        _start(translate, job_uris, **extra)
    assert refused.value.response["Error"]["Code"] == code
    assert httpx.get(f"{_base(translate)}/_emulator/stats").json()["jobs_started"] == before


def test_terminology_and_parallel_data_are_named_resources(translate: Any, s3: Any, terminology: str) -> None:
    got = translate.get_terminology(Name=terminology, TerminologyDataFormat="CSV")
    assert got["TerminologyProperties"]["SourceLanguageCode"] == "en"
    assert got["TerminologyProperties"]["TargetLanguageCodes"] == ["es", "fr"]
    assert httpx.get(got["TerminologyDataLocation"]["Location"]).content == TERMS_CSV
    with pytest.raises(ClientError) as missing:
        translate.get_terminology(Name="tp-never-imported", TerminologyDataFormat="CSV")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"

    key = f"memory/{uuid.uuid4().hex}.tmx"
    tmx = b"""<tmx version="1.4"><header srclang="en-US" datatype="plaintext" segtype="sentence" adminlang="en"
      o-tmf="x" creationtool="x" creationtoolversion="1"/><body><tu><tuv xml:lang="en-US"><seg>Good</seg></tuv>
      <tuv xml:lang="es-ES"><seg>Bueno</seg></tuv></tu></body></tmx>"""
    s3.put_object(Bucket=BUCKET, Key=key, Body=tmx)
    name, config = f"tp-memory-{uuid.uuid4().hex[:8]}", {"S3Uri": f"s3://{BUCKET}/{key}", "Format": "TMX"}
    created = translate.create_parallel_data(Name=name, ParallelDataConfig=config, ClientToken="token-1")
    assert created == {"Name": name, "Status": "CREATING", "ResponseMetadata": created["ResponseMetadata"]}
    assert (
        translate.create_parallel_data(Name=name, ParallelDataConfig=config, ClientToken="token-1")["Status"]
        == "CREATING"
    )
    properties = translate.get_parallel_data(Name=name)["ParallelDataProperties"]
    assert properties["Status"] == "ACTIVE"
    assert (properties["SourceLanguageCode"], properties["TargetLanguageCodes"]) == ("en", ["es"])
    with pytest.raises(ClientError) as conflict:
        translate.create_parallel_data(Name=name, ParallelDataConfig=config, ClientToken="token-2")
    assert conflict.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as absent:
        translate.create_parallel_data(
            Name=f"{name}-x", ParallelDataConfig={"S3Uri": f"s3://{BUCKET}/memory/none.tmx", "Format": "TMX"}
        )
    assert absent.value.response["Error"]["Code"] == "InvalidRequestException"


def test_an_xliff_2_document_fails_alone_with_translates_reason(translate: Any, s3: Any) -> None:
    uris = _inputs(s3, {"guide.xlf": XLIFF_12, "welcome.xliff": XLIFF_20})
    done = _statuses_until_done(translate, _start(translate, uris))[-1]
    assert done["JobStatus"] == "COMPLETED_WITH_ERROR"
    assert done["JobDetails"] == {
        "TranslatedDocumentsCount": 1,
        "DocumentsWithErrorsCount": 1,
        "InputDocumentsCount": 2,
    }
    folder = done["OutputDataConfig"]["S3Uri"]
    details = json.loads(_read(s3, f"{folder}details/es.auxiliary-translation-details.json"))
    assert details["documentCountWithCustomerError"] == "1"
    assert {"sourceFile": "welcome.xliff", "error": UNSUPPORTED_2_0} in details["details"]
    written = s3.list_objects_v2(Bucket=BUCKET, Prefix=folder.removeprefix(f"s3://{BUCKET}/"))["Contents"]
    assert sorted(item["Key"].removeprefix(folder.removeprefix(f"s3://{BUCKET}/")) for item in written) == [
        "details/es.auxiliary-translation-details.json",
        "es.guide.xlf",
    ]

    only = _statuses_until_done(translate, _start(translate, _inputs(s3, {"welcome.xliff": XLIFF_20})))[-1]
    assert (only["JobStatus"], only["Message"]) == ("FAILED", "None of the input documents could be translated")


def _memory(s3: Any, target: str = "es-ES", units: int = 1) -> dict[str, str]:
    """A TMX of ``units`` en -> ``target`` pairs in S3, as a ParallelDataConfig."""
    key = f"memory/{uuid.uuid4().hex}.tmx"
    pairs = "".join(
        f'<tu><tuv xml:lang="en-US"><seg>Good {n}</seg></tuv><tuv xml:lang="{target}"><seg>Bueno {n}</seg></tuv></tu>'
        for n in range(units)
    )
    s3.put_object(
        Bucket=BUCKET, Key=key, Body=f'<tmx version="1.4"><header srclang="en-US"/><body>{pairs}</body></tmx>'
    )
    return {"S3Uri": f"s3://{BUCKET}/{key}", "Format": "TMX"}


def _code(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def test_parallel_data_is_creating_until_looked_at_and_no_job_uses_it_before(
    translate: Any, s3: Any, job_uris: tuple[str, str]
) -> None:
    name = f"tp-memory-{uuid.uuid4().hex[:8]}"
    created = translate.create_parallel_data(Name=name, ParallelDataConfig=_memory(s3), ClientToken="t")
    assert created["Status"] == "CREATING"
    before = httpx.get(f"{_base(translate)}/_emulator/stats").json()["jobs_started"]
    with pytest.raises(ClientError) as early:
        _start(translate, job_uris, ParallelDataNames=[name])
    assert _code(early) == ("InvalidRequestException", f"ParallelData {name} is not ACTIVE")
    assert httpx.get(f"{_base(translate)}/_emulator/stats").json()["jobs_started"] == before
    assert translate.get_parallel_data(Name=name)["ParallelDataProperties"]["Status"] == "ACTIVE"
    done = _statuses_until_done(translate, _start(translate, job_uris, ParallelDataNames=[name]))[-1]
    assert done["JobStatus"] == "COMPLETED"

    unreadable = f"{name}-bad"
    key = f"memory/{uuid.uuid4().hex}.tmx"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'<tmx version="1.4"><body/></tmx>')
    config = {"S3Uri": f"s3://{BUCKET}/{key}", "Format": "TMX"}
    assert translate.create_parallel_data(Name=unreadable, ParallelDataConfig=config)["Status"] == "CREATING"
    failed = translate.get_parallel_data(Name=unreadable)["ParallelDataProperties"]
    assert (failed["Status"], failed["Message"]) == ("FAILED", "The TMX file is invalid: it has no translation units")


def test_updated_parallel_data_shows_its_new_file_once_the_update_is_active(translate: Any, s3: Any) -> None:
    name, first, second = f"tp-memory-{uuid.uuid4().hex[:8]}", _memory(s3), _memory(s3, "fr-FR", units=2)
    translate.create_parallel_data(Name=name, ParallelDataConfig=first, ClientToken="create")
    with pytest.raises(ClientError) as creating:
        translate.update_parallel_data(Name=name, ParallelDataConfig=second, ClientToken="update-1")
    assert _code(creating)[0] == "ConcurrentModificationException"
    assert translate.get_parallel_data(Name=name)["ParallelDataProperties"]["Status"] == "ACTIVE"

    updated = translate.update_parallel_data(Name=name, ParallelDataConfig=second, ClientToken="update-1")
    assert (updated["Name"], updated["Status"], updated["LatestUpdateAttemptStatus"]) == (name, "ACTIVE", "UPDATING")
    again = translate.update_parallel_data(Name=name, ParallelDataConfig=second, ClientToken="update-1")
    assert again["LatestUpdateAttemptStatus"] == "UPDATING"  # the same token: the same update
    with pytest.raises(ClientError) as concurrent:
        translate.update_parallel_data(Name=name, ParallelDataConfig=first, ClientToken="update-2")
    assert _code(concurrent)[0] == "ConcurrentModificationException"
    assert concurrent.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    properties = translate.get_parallel_data(Name=name)["ParallelDataProperties"]
    assert (properties["Status"], properties["LatestUpdateAttemptStatus"]) == ("ACTIVE", "ACTIVE")
    assert properties["ParallelDataConfig"] == second
    assert (properties["TargetLanguageCodes"], properties["ImportedRecordCount"]) == (["fr"], 2)
    with pytest.raises(ClientError) as absent:
        translate.update_parallel_data(Name=f"{name}-x", ParallelDataConfig=second, ClientToken="update-3")
    assert _code(absent)[0] == "ResourceNotFoundException"


def test_deleted_parallel_data_and_terminology_are_gone(translate: Any, s3: Any, terminology: str) -> None:
    name = f"tp-memory-{uuid.uuid4().hex[:8]}"
    translate.create_parallel_data(Name=name, ParallelDataConfig=_memory(s3), ClientToken="t")
    deleted = translate.delete_parallel_data(Name=name)
    assert (deleted["Name"], deleted["Status"]) == (name, "DELETING")
    translate.delete_terminology(Name=terminology)
    for operation, params in (
        ("get_parallel_data", {"Name": name}),
        ("delete_parallel_data", {"Name": name}),
        ("get_terminology", {"Name": terminology, "TerminologyDataFormat": "CSV"}),
        ("delete_terminology", {"Name": terminology}),
    ):
        with pytest.raises(ClientError) as gone:
            getattr(translate, operation)(**params)
        assert _code(gone)[0] == "ResourceNotFoundException"


def test_a_restarted_emulator_still_describes_and_completes_a_running_job(
    aws_endpoint: str, job_uris: tuple[str, str], s3: Any, tmp_path: Path
) -> None:
    state = tmp_path / "translate.json"
    context = RequestContext(region="us-east-1", base_url="http://emulator.test/translate")
    before = TranslateJobs(pseudo_translate, state_file=state, moto_url=aws_endpoint)
    started = before.call(
        "StartTextTranslationJob",
        {
            "InputDataConfig": {"S3Uri": job_uris[0], "ContentType": "application/x-xliff+xml"},
            "OutputDataConfig": {"S3Uri": job_uris[1]},
            "DataAccessRoleArn": ROLE,
            "SourceLanguageCode": "en",
            "TargetLanguageCodes": ["fr"],
            "ClientToken": "restart-token",
        },
        context,
    )
    before.call("DescribeTextTranslationJob", {"JobId": started["JobId"]}, context)
    after = TranslateJobs(pseudo_translate, state_file=state, moto_url=aws_endpoint)
    statuses = [
        after.call("DescribeTextTranslationJob", {"JobId": started["JobId"]}, context)["TextTranslationJobProperties"]
        for _ in range(2)
    ]
    assert [job["JobStatus"] for job in statuses] == ["IN_PROGRESS", "COMPLETED"]
    assert b"[fr] Last step." in _read(s3, f"{statuses[-1]['OutputDataConfig']['S3Uri']}fr.welcome.xliff")


def test_xliff_entities_are_never_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-leak")
    document = f"""<?xml version="1.0"?>
<!DOCTYPE xliff [<!ENTITY leak SYSTEM "file://{secret}"><!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2"><file source-language="en"><body>
<trans-unit id="1"><source>Read &leak; and &b;</source></trans-unit></body></file></xliff>""".encode()
    translated = translate_xliff(document, "es", Glossary({}), pseudo_translate, drop_last=False)
    assert b"do-not-leak" not in translated
    assert b"<target>[es] Read &leak; and &b;</target>" in translated  # references left unresolved


def _base(translate: Any) -> str:
    return str(translate.meta.endpoint_url).rstrip("/")
