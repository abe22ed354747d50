"""Amazon Translate's batch jobs, custom terminology and parallel data (EMULATION: development and tests only).

moto has no Amazon Translate, so the Translate emulator (``translate.py``) hands these
operations to :class:`TranslateJobs`, which answers them with Translate's shapes and error
types and reads and writes the documents in moto's S3 with boto3 (``AWS_ENDPOINT_URL``).

* ``ImportTerminology`` takes CSV/TSV (header row = language codes, first column the
  source) or TMX; ``GetTerminology`` / ``ListTerminologies`` report it. Jobs apply its terms.
  ``DeleteTerminology`` removes it.
* ``CreateParallelData`` checks that the S3 file exists (reusing a name with another
  ``ClientToken`` is a ``ConflictException``) and answers CREATING; the next
  ``GetParallelData`` finds it ACTIVE (FAILED when the file cannot be read as terms), so a
  caller has to wait for ACTIVE as it would on Translate. ``UpdateParallelData`` (accepted on
  an ACTIVE or FAILED resource, else ``ConcurrentModificationException``) answers
  ``LatestUpdateAttemptStatus`` UPDATING and the next ``GetParallelData`` shows the new file
  with it ACTIVE. ``DeleteParallelData`` removes it at once. Parallel data is not used for
  translating, but a job naming one that is not ACTIVE is refused.
* ``StartTextTranslationJob`` is idempotent on ``ClientToken``. A job moves only when it is
  described: it answers IN_PROGRESS to its first ``polls_in_progress`` describes (2 unless
  switched) and completes at the next one.
* Completing reads every object under the input prefix and writes, per target language,
  ``<output>/123456789012-TranslateText-<JobId>/<tgt>.<key relative to the input prefix>``
  and ``details/<tgt>.auxiliary-translation-details.json`` in that folder, which is also the
  ``OutputDataConfig.S3Uri`` the job reports, as Translate does. XLIFF 1.2 ``trans-unit``
  sources get a ``target`` holding the pseudo-translation, inline tags kept; an XLIFF 2.x
  document fails on its own (an error entry in the details file), since Translate's batch
  jobs take XLIFF 1.2 only; ``text/plain`` is translated line by line. The terminology is
  applied first: each source term found as a whole word (case-sensitive) becomes the target
  language's term.
* Switches (see :meth:`TranslateJobs.configure`): the next n jobs to complete drop the last
  unit of each document, or end FAILED with a given message.

The state is kept in memory and, when a state file is given, in that JSON file, so a
restarted dev stack can still describe (and complete) a job it started before.
"""

from __future__ import annotations

import base64
import binascii
import copy
import csv
import io
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.exceptions
from lxml import etree

from activities.media.languages import TRANSLATE_LANGUAGES

ACCOUNT = "123456789012"
XLIFF = "application/x-xliff+xml"
PLAIN_TEXT = "text/plain"
DEFAULT_FAILURE = "Amazon Translate could not process the job (emulated failure)"
TERMINOLOGY_LIMIT_BYTES = 10 * 1024 * 1024
_TRANSLATE_CONTENT_TYPES = {
    PLAIN_TEXT,
    XLIFF,
    "text/html",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_JOB_REQUIRED = (
    "InputDataConfig",
    "OutputDataConfig",
    "DataAccessRoleArn",
    "SourceLanguageCode",
    "TargetLanguageCodes",
)
_NAME = re.compile(r"^([A-Za-z0-9-]_?)+$")
_ROLE = re.compile(r"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XLIFF_2_NAMESPACE = "urn:oasis:names:tc:xliff:document:2.0"
_RUNNING = ("SUBMITTED", "IN_PROGRESS")


class UnsupportedDocument(ValueError):
    """A document Translate refuses by its kind rather than its content (XLIFF 2.x)."""


class TranslateError(Exception):
    """An error Translate answers with: its ``__type`` code, message and extra fields."""

    def __init__(self, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


@dataclass(frozen=True)
class RequestContext:
    """What an operation needs from the HTTP request: the signing region and the endpoint URL."""

    region: str
    base_url: str


@dataclass
class JobSwitches:
    """How the next jobs behave (changed through :meth:`TranslateJobs.configure`)."""

    drop_segments: int = 0
    fail_jobs: int = 0
    reason: str = DEFAULT_FAILURE
    polls_in_progress: int = 2
    start_latency_seconds: float = 0.0
    """StartTextTranslationJob creates the job at once but answers only after this long (a
    caller that dies meanwhile never learns the job id: what a client token is for)."""


# --- files: terminology, XLIFF, plain text -------------------------------------------------


def _parse_xml(data: bytes) -> Any:
    """Parse untrusted XML: no entity expansion, no DTD loading, no network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise ValueError(f"the document is not well-formed XML: {error}") from None


def _language(code: str, *, loose: bool = False) -> str:
    """``code`` if Translate supports it; TMX region variants (``en-US``) fall back to the language."""
    if code in TRANSLATE_LANGUAGES:
        return code
    if loose and code.split("-")[0].lower() in TRANSLATE_LANGUAGES:
        return code.split("-")[0].lower()
    raise TranslateError("InvalidParameterValueException", f"The language code {code!r} is not supported")


def parse_terms(data: bytes, file_format: str) -> dict[str, Any]:
    """``{"source", "languages", "entries": [{lang: term}], "skipped"}`` of a terminology file."""
    try:
        rows = _tmx_rows(data) if file_format == "TMX" else _delimited_rows(data, file_format)
    except (ValueError, UnicodeDecodeError) as error:
        raise TranslateError("InvalidParameterValueException", f"The {file_format} file is invalid: {error}") from None
    languages, *terms = rows
    if not terms:
        raise TranslateError("InvalidParameterValueException", f"The {file_format} file contains no terms")
    source = languages[0]
    entries = [row for row in terms if source in row and len(row) > 1]
    return {"source": source, "languages": languages, "entries": entries, "skipped": len(terms) - len(entries)}


def _delimited_rows(data: bytes, file_format: str) -> list[Any]:
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter="\t" if file_format == "TSV" else ",")
    rows = [[cell.strip() for cell in row] for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError("it is empty")
    header = [_language(code) for code in rows[0]]
    return [header, *({lang: term for lang, term in zip(header, row, strict=False) if term} for row in rows[1:])]


def _tmx_rows(data: bytes) -> list[Any]:
    root = _parse_xml(data)
    header = root.find("{*}header")
    declared = header.get("srclang", "*all*") if header is not None else "*all*"
    entries: list[dict[str, str]] = []
    for unit in root.iter("{*}tu"):
        entry: dict[str, str] = {}
        for variant in unit.findall("{*}tuv"):
            segment = variant.find("{*}seg")
            text = "".join(segment.itertext()).strip() if segment is not None else ""
            code = variant.get(_XML_LANG) or variant.get("lang")
            if code and text:
                entry[_language(code, loose=True)] = text
        entries.append(entry)
    languages = list(dict.fromkeys(lang for entry in entries for lang in entry))
    if declared != "*all*":
        source = _language(declared, loose=True)
        languages = [source, *(lang for lang in languages if lang != source)]
    if not languages:
        raise ValueError("it has no translation units")
    return [languages, *entries]


class Glossary:
    """The terms of one job's terminologies for one language pair; records which it applied."""

    def __init__(self, terms: dict[str, tuple[str, str]]) -> None:
        self._terms = terms  # source term -> (target term, terminology name)
        longest_first = sorted(terms, key=len, reverse=True)
        alternatives = "|".join(re.escape(term) for term in longest_first)
        # Whole words, even for terms that start or end with punctuation (\b would not do).
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if terms else None
        self.applied: dict[str, str] = {}

    def apply(self, text: str) -> str:
        """``text`` with every term replaced (one pass, so a replacement is never replaced again)."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        self.applied[match.group(0)] = self._terms[match.group(0)][1]
        return self._terms[match.group(0)][0]

    def auxiliary(self) -> dict[str, Any]:
        """Translate's ``auxiliaryData`` of one document: the terms applied, by terminology."""
        by_name: dict[str, list[dict[str, str]]] = {}
        for source, name in self.applied.items():
            by_name.setdefault(name, []).append({"sourceText": source, "targetText": self._terms[source][0]})
        return {"appliedTerminologies": [{"name": name, "terms": terms} for name, terms in by_name.items()]}


Translator = Callable[[str, str], str]


def translate_xliff(data: bytes, language: str, glossary: Glossary, translate: Translator, drop_last: bool) -> bytes:
    """The XLIFF 1.2 with a ``target`` beside every source (none in the last unit when ``drop_last``).

    Raises:
        UnsupportedDocument: an XLIFF 2.x document ("Amazon Translate supports only XLIFF
            version 1.2").
        ValueError: not well-formed XML, or not XLIFF.
    """
    root = _parse_xml(data)
    if etree.QName(root).localname != "xliff":
        raise ValueError(f"the root element is <{etree.QName(root).localname}>, not <xliff>")
    version = root.get("version") or ""
    if version.startswith("2") or etree.QName(root).namespace == _XLIFF_2_NAMESPACE:
        raise UnsupportedDocument(
            f"Unsupported XLIFF version {version or '2.x'}: Amazon Translate supports XLIFF 1.2 only"
        )
    for file in root.iter("{*}file"):
        file.set("target-language", language)
    units = list(root.iter("{*}trans-unit"))
    for index, holder in enumerate(units):
        source = holder.find("{*}source")
        for stale in holder.findall("{*}target"):
            holder.remove(stale)
        if source is not None and not (drop_last and index == len(units) - 1):
            _add_target(holder, source, language, glossary, translate)
    result: bytes = etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")
    return result


def _add_target(holder: Any, source: Any, language: str, glossary: Glossary, translate: Translator) -> None:
    target = copy.deepcopy(source)
    target.tag = etree.QName(etree.QName(source).namespace, "target").text
    if target.get(_XML_LANG):
        target.set(_XML_LANG, language)
    for node in target.iter():
        if isinstance(node.tag, str) and node.text:  # elements only: comments and entity references stay as they are
            node.text = glossary.apply(node.text)
        if node is not target and node.tail:
            node.tail = glossary.apply(node.tail)
    if len(target) == 0:
        target.text = translate(target.text or "", language)
    else:
        # Inline tags stay where they are; the language mark goes in front, as for plain text.
        whole = "".join(target.itertext())
        if translate(whole, language) != whole:
            target.text = f"[{language}] " + (target.text or "").lstrip()
    target.tail = source.tail
    anchor = holder.find("{*}seg-source")  # XLIFF 1.2 puts <target> after <seg-source>
    (anchor if anchor is not None else source).addnext(target)


def translate_plain(data: bytes, language: str, glossary: Glossary, translate: Translator, drop_last: bool) -> bytes:
    """Plain text translated line by line (the last non-blank line left as is when ``drop_last``)."""
    lines = data.decode("utf-8").split("\n")
    filled = [index for index, line in enumerate(lines) if line.strip()]
    kept = filled[-1] if drop_last and filled else None
    return "\n".join(
        line if index == kept or not line.strip() else translate(glossary.apply(line), language)
        for index, line in enumerate(lines)
    ).encode("utf-8")


# --- state and operations ----------------------------------------------------------------


class JobFailure(Exception):
    """The job ends FAILED with this message."""


class TranslateJobs:
    """Terminologies, parallel data and batch jobs of the Translate emulator."""

    def __init__(self, translate: Translator, state_file: Path | None = None, moto_url: str | None = None) -> None:
        self._translate = translate
        self._state_file = state_file
        self._moto_url = moto_url
        self._lock = threading.RLock()
        self._s3: Any = None
        self.switches = JobSwitches()
        self.terminologies: dict[str, dict[str, Any]] = {}
        self.parallel_data: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self._load()
        self.operations: dict[str, Callable[[dict[str, Any], RequestContext], dict[str, Any]]] = {
            "ImportTerminology": self._import_terminology,
            "GetTerminology": self._get_terminology,
            "ListTerminologies": lambda body, context: {
                "TerminologyPropertiesList": [t["properties"] for t in self.terminologies.values()]
            },
            "DeleteTerminology": self._delete_terminology,
            "CreateParallelData": self._create_parallel_data,
            "UpdateParallelData": self._update_parallel_data,
            "GetParallelData": self._get_parallel_data,
            "DeleteParallelData": self._delete_parallel_data,
            "ListParallelData": lambda body, context: {
                "ParallelDataPropertiesList": [p["properties"] for p in self.parallel_data.values()]
            },
            "StartTextTranslationJob": self._start_job,
            "DescribeTextTranslationJob": self._describe_job,
            "ListTextTranslationJobs": self._list_jobs,
            "StopTextTranslationJob": self._stop_job,
        }

    @property
    def jobs_started(self) -> int:
        """Distinct jobs created (a repeated ClientToken creates none)."""
        return len(self.jobs)

    @property
    def jobs_running(self) -> int:
        """Jobs SUBMITTED or IN_PROGRESS now (what Translate's concurrent-job quota counts)."""
        return sum(1 for job in self.jobs.values() if job["properties"]["JobStatus"] in _RUNNING)

    def configure(
        self,
        *,
        drop_segments: int | None = None,
        fail_jobs: int | None = None,
        reason: str | None = None,
        polls_in_progress: int | None = None,
        start_latency_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Set what is given: the next ``drop_segments`` jobs to complete leave the last unit of
        each document without a target; the next ``fail_jobs`` end FAILED with ``reason``;
        jobs started from now on answer IN_PROGRESS to ``polls_in_progress`` describes."""
        with self._lock:
            if drop_segments is not None:
                self.switches.drop_segments = drop_segments
            if fail_jobs is not None:
                self.switches.fail_jobs = fail_jobs
                self.switches.reason = reason or DEFAULT_FAILURE
            elif reason:
                self.switches.reason = reason
            if polls_in_progress is not None:
                self.switches.polls_in_progress = polls_in_progress
            if start_latency_seconds is not None:
                self.switches.start_latency_seconds = start_latency_seconds
            return dict(vars(self.switches))

    def call(self, operation: str, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        """Run one operation (blocking: S3 is read and written on completion)."""
        with self._lock:
            answer = self.operations[operation](body, context)
            self._save()
            # A copy: the answer is serialised after the lock is released, while jobs move on.
            return copy.deepcopy(answer)

    def terminology_file(self, name: str) -> bytes | None:
        """The file a terminology was imported from (what ``TerminologyDataLocation`` serves)."""
        stored = self.terminologies.get(name)
        return base64.b64decode(stored["file"]) if stored else None

    # persistence, as the payment provider does it

    def _load(self) -> None:
        if self._state_file and self._state_file.exists():
            state = json.loads(self._state_file.read_text())
            self.terminologies, self.parallel_data = state["terminologies"], state["parallel_data"]
            self.jobs, self.tokens = state["jobs"], state["tokens"]

    def _save(self) -> None:
        if self._state_file:
            state = {
                "terminologies": self.terminologies,
                "parallel_data": self.parallel_data,
                "jobs": self.jobs,
                "tokens": self.tokens,
            }
            # Renamed into place: a kill mid-write leaves the previous state, never half a file.
            temporary = self._state_file.with_name(f".{self._state_file.name}.tmp")
            temporary.write_text(json.dumps(state))
            os.replace(temporary, self._state_file)

    def _client(self) -> Any:
        if self._s3 is None:
            self._s3 = boto3.client("s3", endpoint_url=self._moto_url or os.environ["AWS_ENDPOINT_URL"])
        return self._s3

    # terminology and parallel data

    def _import_terminology(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        name = _name(body)
        if body.get("MergeStrategy") != "OVERWRITE":
            raise TranslateError("InvalidParameterValueException", "MergeStrategy must be OVERWRITE")
        data = _object(body, "TerminologyData")
        file_format, directionality = data.get("Format"), data.get("Directionality", "UNI")
        if file_format not in ("CSV", "TMX", "TSV") or directionality not in ("UNI", "MULTI"):
            raise TranslateError(
                "InvalidParameterValueException", "Format must be CSV, TMX or TSV; Directionality UNI or MULTI"
            )
        try:
            raw = base64.b64decode(_string(data, "File"), validate=True)
        except binascii.Error:
            raise TranslateError("SerializationException", "TerminologyData.File is not base64") from None
        if len(raw) > TERMINOLOGY_LIMIT_BYTES:
            raise TranslateError("LimitExceededException", "The terminology file exceeds 10 MB")
        table = parse_terms(raw, str(file_format))
        now = time.time()
        properties = {
            "Name": name,
            "Description": body.get("Description", ""),
            "Arn": f"arn:aws:translate:{context.region}:{ACCOUNT}:terminology/{name}/LATEST",
            "SourceLanguageCode": table["source"],
            "TargetLanguageCodes": table["languages"][1:],
            "SizeBytes": len(raw),
            "TermCount": len(table["entries"]),
            "SkippedTermCount": table["skipped"],
            "CreatedAt": self.terminologies.get(name, {}).get("properties", {}).get("CreatedAt", now),
            "LastUpdatedAt": now,
            "Directionality": directionality,
            "Format": file_format,
        }
        self.terminologies[name] = {"properties": properties, "table": table, "file": _string(data, "File")}
        return {"TerminologyProperties": properties}

    def _get_terminology(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        name = _string(body, "Name")
        if name not in self.terminologies:
            raise TranslateError("ResourceNotFoundException", f"Terminology {name} not found")
        location = {"RepositoryType": "S3", "Location": f"{context.base_url}/_emulator/terminologies/{name}"}
        return {"TerminologyProperties": self.terminologies[name]["properties"], "TerminologyDataLocation": location}

    def _delete_terminology(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        name = _string(body, "Name")
        if self.terminologies.pop(name, None) is None:
            raise TranslateError("ResourceNotFoundException", f"Terminology {name} not found")
        return {}

    def _create_parallel_data(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        name, token = _name(body), body.get("ClientToken") or str(uuid.uuid4())
        existing = self.parallel_data.get(name)
        if existing is not None:
            if existing["token"] != token:
                raise TranslateError("ConflictException", f"Parallel data {name} already exists")
            return {"Name": name, "Status": existing["properties"]["Status"]}
        imported = self._parallel_file(body)
        now = time.time()
        properties: dict[str, Any] = {
            "Name": name,
            "Arn": f"arn:aws:translate:{context.region}:{ACCOUNT}:parallel-data/{name}",
            "Description": body.get("Description", ""),
            "Status": "CREATING",
            "ParallelDataConfig": imported["ParallelDataConfig"],
            "CreatedAt": now,
            "LastUpdatedAt": now,
        }
        # Translate imports in the background: what the file holds shows on the next Get.
        self.parallel_data[name] = {"properties": properties, "token": token, "pending": imported}
        return {"Name": name, "Status": "CREATING"}

    def _update_parallel_data(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        name, token = _name(body), _string(body, "ClientToken")
        stored = self.parallel_data.get(name)
        if stored is None:
            raise TranslateError("ResourceNotFoundException", f"Parallel data {name} not found")
        properties = stored["properties"]
        if stored.get("update_token") != token:
            if stored.get("pending") is not None or properties["Status"] not in ("ACTIVE", "FAILED"):
                raise TranslateError(
                    "ConcurrentModificationException",
                    f"Parallel data {name} is {properties['Status']} (latest update "
                    f"{properties.get('LatestUpdateAttemptStatus', 'none')}); "
                    "another modification must complete first",
                )
            stored.update(pending=self._parallel_file(body), update_token=token)
            properties.update(LatestUpdateAttemptStatus="UPDATING", LatestUpdateAttemptAt=time.time())
            if isinstance(body.get("Description"), str):
                properties["Description"] = body["Description"]
        return {
            "Name": name,
            "Status": properties["Status"],
            "LatestUpdateAttemptStatus": properties["LatestUpdateAttemptStatus"],
            "LatestUpdateAttemptAt": properties["LatestUpdateAttemptAt"],
        }

    def _parallel_file(self, body: dict[str, Any]) -> dict[str, Any]:
        """The properties an import of ``ParallelDataConfig``'s file gives (``Message`` when it fails)."""
        config = _object(body, "ParallelDataConfig")
        uri, file_format = _string(config, "S3Uri"), config.get("Format")
        if file_format not in ("TSV", "CSV", "TMX"):
            raise TranslateError("InvalidParameterValueException", "ParallelDataConfig.Format must be TSV, CSV or TMX")
        bucket, key = _s3_location(uri, "ParallelDataConfig.S3Uri")
        try:
            raw: bytes = self._client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except botocore.exceptions.ClientError:
            raise TranslateError(
                "InvalidRequestException", f"The parallel data file {uri} does not exist or cannot be read"
            ) from None
        imported: dict[str, Any] = {"ParallelDataConfig": {"S3Uri": uri, "Format": file_format}}
        try:
            table = parse_terms(raw, str(file_format))
        except TranslateError as error:
            return {**imported, "Message": error.message}
        return {
            **imported,
            "ImportedDataSize": len(raw),
            "SourceLanguageCode": table["source"],
            "TargetLanguageCodes": table["languages"][1:],
            "ImportedRecordCount": len(table["entries"]),
            "SkippedRecordCount": table["skipped"],
        }

    def _settle_parallel_data(self, stored: dict[str, Any]) -> None:
        """Finish the import a create or update began: ACTIVE with the file's terms, or FAILED."""
        imported = stored.pop("pending", None)
        if imported is None:
            return
        properties = stored["properties"]
        failure = imported.pop("Message", None)
        if properties.get("LatestUpdateAttemptStatus") != "UPDATING":
            properties.update(imported, Status="FAILED" if failure else "ACTIVE")
            if failure:
                properties["Message"] = failure
        elif failure:
            # A failed update leaves the resource as it was, with the reason.
            properties.update(LatestUpdateAttemptStatus="FAILED", Message=failure)
        else:
            properties.pop("Message", None)
            properties.update(imported, Status="ACTIVE", LatestUpdateAttemptStatus="ACTIVE", LastUpdatedAt=time.time())

    def _get_parallel_data(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        name = _string(body, "Name")
        if name not in self.parallel_data:
            raise TranslateError("ResourceNotFoundException", f"Parallel data {name} not found")
        self._settle_parallel_data(self.parallel_data[name])
        properties = self.parallel_data[name]["properties"]
        bucket, key = _s3_location(properties["ParallelDataConfig"]["S3Uri"], "S3Uri")
        url = self._client().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
        return {"ParallelDataProperties": properties, "DataLocation": {"RepositoryType": "S3", "Location": url}}

    def _delete_parallel_data(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        name = _string(body, "Name")
        if self.parallel_data.pop(name, None) is None:
            raise TranslateError("ResourceNotFoundException", f"Parallel data {name} not found")
        # Translate answers DELETING and removes it shortly; here it is gone at once.
        return {"Name": name, "Status": "DELETING"}

    # jobs

    def _start_job(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        token = body.get("ClientToken") or str(uuid.uuid4())
        if token in self.tokens:
            known = self.jobs[self.tokens[token]]["properties"]
            return {"JobId": known["JobId"], "JobStatus": known["JobStatus"]}
        properties = self._validated_job(body)
        job_id = uuid.uuid4().hex
        output = _object(body, "OutputDataConfig")
        folder = f"{_string(output, 'S3Uri').rstrip('/')}/{ACCOUNT}-TranslateText-{job_id}/"
        properties.update(
            JobId=job_id,
            JobStatus="SUBMITTED",
            JobDetails={"TranslatedDocumentsCount": 0, "DocumentsWithErrorsCount": 0, "InputDocumentsCount": 0},
            SubmittedTime=time.time(),
            OutputDataConfig={**output, "S3Uri": folder},
        )
        self.jobs[job_id] = {"properties": properties, "describes": 0, "polls": self.switches.polls_in_progress}
        self.tokens[token] = job_id
        return {"JobId": job_id, "JobStatus": "SUBMITTED"}

    def _validated_job(self, body: dict[str, Any]) -> dict[str, Any]:
        for field in _JOB_REQUIRED:
            if not body.get(field):
                raise TranslateError(
                    "ValidationException",
                    f"1 validation error detected: Value null at '{field}' failed to satisfy constraint: "
                    "Member must not be null",
                )
        source, targets = _string(body, "SourceLanguageCode"), body["TargetLanguageCodes"]
        input_config = _object(body, "InputDataConfig")
        _s3_location(_string(input_config, "S3Uri"), "InputDataConfig.S3Uri")
        _s3_location(_string(_object(body, "OutputDataConfig"), "S3Uri"), "OutputDataConfig.S3Uri")
        content_type = input_config.get("ContentType")
        if content_type not in _TRANSLATE_CONTENT_TYPES:
            raise TranslateError(
                "InvalidParameterValueException", f"The content type {content_type!r} is not supported"
            )
        if content_type not in (XLIFF, PLAIN_TEXT):
            raise TranslateError("InvalidRequestException", f"The emulator does not translate {content_type} documents")
        if not _ROLE.match(_string(body, "DataAccessRoleArn")):
            raise TranslateError("InvalidParameterValueException", "DataAccessRoleArn is not an IAM role ARN")
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise TranslateError("ValidationException", "TargetLanguageCodes must be a list of language codes")
        for target in targets:
            if (source != "auto" and source not in TRANSLATE_LANGUAGES) or target not in TRANSLATE_LANGUAGES:
                raise TranslateError(
                    "UnsupportedLanguagePairException",
                    f"Unsupported language pair: {source} to {target}",
                    SourceLanguageCode=source,
                    TargetLanguageCode=target,
                )
        for field, known, kind in (
            ("TerminologyNames", self.terminologies, "Terminology"),
            ("ParallelDataNames", self.parallel_data, "Parallel data"),
        ):
            for name in body.get(field) or []:
                if name not in known:
                    raise TranslateError("ResourceNotFoundException", f"{kind} {name} not found")
        for name in body.get("ParallelDataNames") or []:
            # Not settled here: a caller that never waited for ACTIVE is refused, as it would be.
            if self.parallel_data[name]["properties"]["Status"] != "ACTIVE":
                raise TranslateError("InvalidRequestException", f"ParallelData {name} is not ACTIVE")
        properties = {key: body[key] for key in ("JobName", "DataAccessRoleArn", "Settings") if body.get(key)}
        properties.update(
            SourceLanguageCode=source,
            TargetLanguageCodes=targets,
            TerminologyNames=body.get("TerminologyNames") or [],
            ParallelDataNames=body.get("ParallelDataNames") or [],
            InputDataConfig=input_config,
        )
        return properties

    def _job(self, body: dict[str, Any]) -> dict[str, Any]:
        job_id = _string(body, "JobId")
        if job_id not in self.jobs:
            raise TranslateError("ResourceNotFoundException", f"Job {job_id} not found")
        return self.jobs[job_id]

    def _describe_job(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        job = self._job(body)
        properties = job["properties"]
        if properties["JobStatus"] == "STOP_REQUESTED":
            properties.update(JobStatus="STOPPED", EndTime=time.time())
        elif properties["JobStatus"] in _RUNNING:
            job["describes"] += 1
            if job["describes"] <= job["polls"]:
                properties["JobStatus"] = "IN_PROGRESS"
            else:
                self._complete(properties)
        return {"TextTranslationJobProperties": properties}

    def _list_jobs(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        wanted = body.get("Filter") or {}
        before, after = wanted.get("SubmittedBeforeTime"), wanted.get("SubmittedAfterTime")
        return {
            "TextTranslationJobPropertiesList": [
                job["properties"]
                for job in self.jobs.values()
                if wanted.get("JobName") in (None, job["properties"].get("JobName"))
                and wanted.get("JobStatus") in (None, job["properties"]["JobStatus"])
                and (before is None or job["properties"]["SubmittedTime"] < before)
                and (after is None or job["properties"]["SubmittedTime"] > after)
            ]
        }

    def _stop_job(self, body: dict[str, Any], context: RequestContext) -> dict[str, Any]:
        properties = self._job(body)["properties"]
        if properties["JobStatus"] in _RUNNING:
            properties["JobStatus"] = "STOP_REQUESTED"
        return {"JobId": properties["JobId"], "JobStatus": properties["JobStatus"]}

    # completion

    def _complete(self, properties: dict[str, Any]) -> None:
        properties["EndTime"] = time.time()
        try:
            if self.switches.fail_jobs > 0:
                self.switches.fail_jobs -= 1
                raise JobFailure(self.switches.reason)
            documents = self._documents(properties["InputDataConfig"]["S3Uri"])
            drop = self.switches.drop_segments > 0
            if drop:
                self.switches.drop_segments -= 1
            failed: set[str] = set()
            for target in properties["TargetLanguageCodes"]:
                failed |= self._translate_all(properties, documents, target, drop)
        except JobFailure as failure:
            properties.update(JobStatus="FAILED", Message=str(failure))
            return
        translated = len(documents) - len(failed)
        properties["JobDetails"] = {
            "TranslatedDocumentsCount": translated,
            "DocumentsWithErrorsCount": len(failed),
            "InputDocumentsCount": len(documents),
        }
        if not failed:
            properties["JobStatus"] = "COMPLETED"
        elif translated:
            properties["JobStatus"] = "COMPLETED_WITH_ERROR"
        else:
            properties.update(JobStatus="FAILED", Message="None of the input documents could be translated")

    def _documents(self, uri: str) -> dict[str, bytes]:
        """Every object under the input prefix, by key relative to the prefix."""
        bucket, prefix = _s3_location(uri, "InputDataConfig.S3Uri")
        s3 = self._client()
        documents: dict[str, bytes] = {}
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    name = item["Key"][len(prefix) :].lstrip("/")
                    if name and not item["Key"].endswith("/"):
                        documents[name] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        except botocore.exceptions.ClientError as error:
            raise JobFailure(f"Access denied to the input bucket {bucket}: {error}") from None
        if not documents:
            raise JobFailure(f"The input location {uri} contains no documents")
        return documents

    def _translate_all(
        self, properties: dict[str, Any], documents: dict[str, bytes], target: str, drop: bool
    ) -> set[str]:
        """Write every document's translation into ``target`` and the details file; the names that failed."""
        bucket, folder = _s3_location(properties["OutputDataConfig"]["S3Uri"], "OutputDataConfig.S3Uri")
        source = properties["SourceLanguageCode"]
        rewrite = translate_xliff if properties["InputDataConfig"]["ContentType"] == XLIFF else translate_plain
        terms = self._terms(properties["TerminologyNames"], source, target)
        details: list[dict[str, Any]] = []
        failed: set[str] = set()
        characters = 0
        for name, data in documents.items():
            glossary = Glossary(terms)
            try:
                translated = rewrite(data, target, glossary, self._translate, drop)
            except (ValueError, UnicodeDecodeError) as error:
                failed.add(name)
                code = "UnsupportedDocument" if isinstance(error, UnsupportedDocument) else "InvalidDocument"
                details.append({"sourceFile": name, "error": {"errorCode": code, "errorMessage": str(error)}})
                continue
            characters += len(data.decode("utf-8", "replace"))
            self._put(bucket, f"{folder}{target}.{name}", translated)
            details.append(
                {"sourceFile": name, "targetFile": f"{target}.{name}", "auxiliaryData": glossary.auxiliary()}
            )
        summary = {
            "sourceLanguageCode": source,
            "targetLanguageCode": target,
            "charactersTranslated": str(characters),
            "documentCountWithCustomerError": str(len(failed)),
            "documentCountWithServerError": "0",
            "inputDataPrefix": properties["InputDataConfig"]["S3Uri"],
            "outputDataPrefix": properties["OutputDataConfig"]["S3Uri"],
            "details": details,
        }
        self._put(bucket, f"{folder}details/{target}.auxiliary-translation-details.json", json.dumps(summary).encode())
        return failed

    def _terms(self, names: list[str], source: str, target: str) -> dict[str, tuple[str, str]]:
        terms: dict[str, tuple[str, str]] = {}
        for name in names:
            stored = self.terminologies.get(name)
            if stored is None:
                continue  # deleted since the job started
            table, directionality = stored["table"], stored["properties"]["Directionality"]
            origin = table["source"] if source == "auto" else source
            if origin != table["source"] and not (directionality == "MULTI" and origin in table["languages"]):
                continue
            for entry in table["entries"]:
                if origin in entry and target in entry:
                    terms.setdefault(entry[origin], (entry[target], name))
        return terms

    def _put(self, bucket: str, key: str, body: bytes) -> None:
        try:
            self._client().put_object(Bucket=bucket, Key=key, Body=body)
        except botocore.exceptions.ClientError as error:
            raise JobFailure(f"Access denied to the output bucket {bucket}: {error}") from None


def _string(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise TranslateError(
            "ValidationException",
            f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
            "Member must be a non-empty string",
        )
    return value


def _object(body: dict[str, Any], field: str) -> dict[str, Any]:
    value = body.get(field)
    if not isinstance(value, dict):
        raise TranslateError(
            "ValidationException",
            f"1 validation error detected: Value null at '{field}' failed to satisfy constraint: "
            "Member must not be null",
        )
    return value


def _name(body: dict[str, Any]) -> str:
    name = _string(body, "Name")
    if not _NAME.match(name) or len(name) > 256:
        raise TranslateError(
            "ValidationException",
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {_NAME.pattern}",
        )
    return name


def _s3_location(uri: str, field: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise TranslateError("InvalidParameterValueException", f"{field} {uri!r} is not an s3:// URI")
    return parsed.netloc, parsed.path.lstrip("/")
