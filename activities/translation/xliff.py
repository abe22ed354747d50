"""XLIFF documents of the translation projects pipeline (pure: bytes in, values out).

Customers' files are hostile until proven otherwise. :func:`screen_xml` checks the raw bytes
(size, declared encoding) and parses them once with defusedxml, DTDs, entities and external
references forbidden, before translate-toolkit (which parses with lxml) ever sees them. Every
refusal is an :class:`UnsafeDocument` whose ``reason`` is a short sentence for the quarantine
report; it never quotes more of the file than a tag or language code.

XLIFF 1.x is read with ``translate.storage.xliff.xlifffile`` and 2.x with
``translate.storage.xliff2.Xliff2File``. Amazon Translate bills the source characters of the
translatable units, which is what :attr:`XliffDocument.characters` counts; its batch output is
the same document with targets filled in, named :func:`output_name`, and
:func:`flag_machine_translated` marks those machine targets for review in XLIFF's own states.

Translate's batch jobs take XLIFF 1.2 only, while customers may send 2.x: :func:`for_translate`
renders what Translate is sent and :func:`merge_targets` carries its targets back into the
customer's own document, unit ids being the thread between the two.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from lxml import etree
from translate.storage.xliff import xlifffile
from translate.storage.xliff2 import Xliff2File

MAX_XLIFF_BYTES = 20 * 1024 * 1024
"""Amazon Translate's limit on one batch document."""
LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
"""A BCP 47-shaped tag: ``en``, ``fr-CA``, ``zh-TW``, ``sr-Latn``."""
XLIFF_NAMESPACES = {
    "1": ("urn:oasis:names:tc:xliff:document:1.1", "urn:oasis:names:tc:xliff:document:1.2"),
    # XLIFF 2.1 and 2.2 keep the 2.0 core namespace; only the version attribute moves.
    "2": ("urn:oasis:names:tc:xliff:document:2.0",),
}
XLIFF_VERSION = re.compile(r"^(?:1\.[12]|2\.\d)$")
MT_STATE_1 = "needs-review-translation"
MT_STATE_QUALIFIER_1 = "leveraged-mt"
MT_STATE_2 = "translated"
"""XLIFF 2.x: ``translated`` is the state before ``reviewed``, i.e. still to be reviewed."""
MT_SUBSTATE_2 = "stepwise:mt"
"""XLIFF 2.x requires ``prefix:value`` for subState; the prefix names who set it."""
XLIFF_1_2_NAMESPACE = XLIFF_NAMESPACES["1"][1]
XLIFF_2_NAMESPACE = XLIFF_NAMESPACES["2"][0]

# Encodings both expat (the screen) and libxml2 (translate-toolkit) decode natively, by
# Python codec name, with the name a reason should print.
_ENCODINGS = {"utf-8": "UTF-8", "utf-16": "UTF-16", "ascii": "US-ASCII", "iso8859-1": "ISO-8859-1"}
_DECLARED_ENCODING = re.compile(r"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_ARTICLES = {"xliff": "an XLIFF", "tmx": "a TMX"}
_SHOWN = 64
"""At most this many characters of a name or id from the file go into a reason."""


class UnsafeDocument(Exception):
    """The document must not go further: it goes to quarantine with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        """A short human sentence naming the problem."""


@dataclass(frozen=True)
class Unit:
    """One translatable unit (an XLIFF 2.x segment) with its text, inline markup flattened."""

    id: str
    """The unit's id; ``unit::segment`` for each segment of a multi-segment XLIFF 2.x unit."""
    source: str
    """The source text."""
    target: str | None
    """The target text, None when the unit has no ``<target>``."""


@dataclass(frozen=True)
class XliffDocument:
    """What the pipeline needs to know of an XLIFF file."""

    version: str
    """The XLIFF version as declared: ``"1.2"``, ``"2.0"``, ``"2.1"``..."""
    source_language: str
    """The source language code as the document states it."""
    target_language: str
    """The target language code as the document states it."""
    units: tuple[Unit, ...]
    """The translatable units, in document order (``translate="no"`` and empty ones left out)."""

    @property
    def characters(self) -> int:
        """Source characters over all units: what Amazon Translate bills."""
        return sum(len(unit.source) for unit in self.units)

    @property
    def segments(self) -> int:
        """How many units the document has."""
        return len(self.units)


@dataclass(frozen=True)
class Flagged:
    """An output document with its machine-translated units marked for review."""

    data: bytes
    """The marked document, UTF-8."""
    segments: int
    """Units in the document."""
    flagged: int
    """Units marked as machine translated."""


@dataclass(frozen=True)
class _Parsed:
    document: XliffDocument
    store: Any
    """translate-toolkit's store, whose tree the flagging edits."""
    toolkit_units: tuple[Any, ...]
    """translate-toolkit's unit behind each of ``document.units``, in the same order."""


def read_xliff(data: bytes, *, max_bytes: int = MAX_XLIFF_BYTES) -> XliffDocument:
    """Screen and read an XLIFF 1.x or 2.x document.

    Raises:
        UnsafeDocument: the file is hostile, malformed, or not something Amazon Translate
            can translate as one language pair.
    """
    return _parse(data, max_bytes).document


def missing_units(source: XliffDocument, output: XliffDocument) -> list[str]:
    """Ids of the source's units that the output lacks or left without a target."""
    targets = {unit.id: unit.target for unit in output.units}
    missing: list[str] = []
    for unit in source.units:
        target = targets.get(unit.id)
        if target is None or not target.strip():
            missing.append(unit.id)
    return missing


def flag_machine_translated(source: bytes, output: bytes) -> Flagged:
    """Mark every unit of ``output`` whose target the machine produced as needing review.

    A target is the machine's when the source document had none for that unit, or another
    one. Targets equal to the source's own (a translator's) are left as they are.

    Raises:
        UnsafeDocument: either document is refused by :func:`read_xliff`.
    """
    before = {unit.id: unit.target for unit in read_xliff(source).units}
    parsed = _parse(output, MAX_XLIFF_BYTES)
    second_version = parsed.document.version.startswith("2.")
    flagged = 0
    for unit, toolkit_unit in zip(parsed.document.units, parsed.toolkit_units, strict=True):
        if unit.target is None or not unit.target.strip() or before.get(unit.id) == unit.target:
            continue
        if second_version:
            toolkit_unit.marktranslated()
            toolkit_unit.xmlelement.set("subState", MT_SUBSTATE_2)
        else:
            toolkit_unit.markreviewneeded(True)
            # The toolkit sets the state but leaves qualifiers alone ("FIXME" in its source).
            toolkit_unit.get_target_dom().set("state-qualifier", MT_STATE_QUALIFIER_1)
        flagged += 1
    buffer = io.BytesIO()
    # lxml's own writer keeps the document as it was; the toolkit's serializer re-indents it.
    parsed.store.document.write(buffer, xml_declaration=True, encoding="UTF-8")
    return Flagged(data=buffer.getvalue(), segments=parsed.document.segments, flagged=flagged)


def for_translate(data: bytes) -> bytes:
    """The document an Amazon Translate batch job is sent for ``data``.

    Translate's batch jobs accept XLIFF 1.2 only, so a 1.2 document (or 1.1, whose structure
    1.2 kept) goes as it is and a 2.x one as an XLIFF 1.2 rendition: one ``<file>`` per 2.x ``<file>`` (``original`` its
    ``original``, else its ``id``) and one ``<trans-unit>`` per unit :func:`read_xliff` counts,
    with the very ids it gives (``unit`` or ``unit::segment``), so :func:`missing_units` and
    :func:`merge_targets` match Translate's output to the customer's document. A unit's
    ``<source>`` is its source text with inline codes (``<pc>``, ``<ph>``...) flattened to
    their text: the codes themselves are not sent, so the translation comes back without them.

    Raises:
        UnsafeDocument: ``data`` is refused by :func:`read_xliff`.
    """
    parsed = _parse(data, MAX_XLIFF_BYTES)
    document = parsed.document
    if not document.version.startswith("2."):
        return data
    root = parsed.store.document.getroot()
    files = list(root.iterchildren(f"{{{XLIFF_2_NAMESPACE}}}file"))
    units_of: dict[Any, list[Unit]] = {file: [] for file in files}
    for unit, toolkit_unit in zip(document.units, parsed.toolkit_units, strict=True):
        units_of[_file_of(toolkit_unit.xmlelement)].append(unit)
    namespace = f"{{{XLIFF_1_2_NAMESPACE}}}"
    rendition = etree.Element(f"{namespace}xliff", nsmap={None: XLIFF_1_2_NAMESPACE}, version="1.2")
    for index, file in enumerate(files, start=1):
        attributes = {
            "original": file.get("original") or file.get("id") or f"f{index}",
            "source-language": document.source_language,
            "target-language": document.target_language,
            "datatype": "plaintext",
        }
        body = etree.SubElement(etree.SubElement(rendition, f"{namespace}file", attributes), f"{namespace}body")
        for unit in units_of[file]:
            source = etree.SubElement(
                etree.SubElement(body, f"{namespace}trans-unit", id=unit.id), f"{namespace}source"
            )
            source.text = unit.source
    result: bytes = etree.tostring(rendition, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return result


def merge_targets(original: bytes, translated: bytes) -> bytes:
    """The customer's ``original`` with the targets of Translate's ``translated`` output, UTF-8.

    ``translated`` is Translate's output for :func:`for_translate` of ``original``. For an
    XLIFF 1.x original that output already is the customer's document translated, so it is
    returned as it is. For 2.x, each segment's ``<target>`` (right after its ``<source>``)
    becomes the output's target of the same id, as text: the inline codes were not sent (see
    :func:`for_translate`). A segment whose target already reads so keeps it, markup and state
    included. A segment the output lacks, or left blank, is left without a target (and without
    a state claiming one), so :func:`missing_units` names it rather than passing a stale one
    off as translated; a changed target loses its state too, for
    :func:`flag_machine_translated` to mark it.

    Raises:
        UnsafeDocument: either document is refused by :func:`read_xliff`.
    """
    parsed = _parse(original, MAX_XLIFF_BYTES)
    output = read_xliff(translated)
    if not parsed.document.version.startswith("2."):
        return translated
    targets = {unit.id: unit.target for unit in output.units}
    for unit, toolkit_unit in zip(parsed.document.units, parsed.toolkit_units, strict=True):
        text = targets.get(unit.id) or ""
        if not text.strip():
            text = ""
        if text == (unit.target or ""):
            continue
        segment = toolkit_unit.xmlelement
        for stale in segment.findall(f"{{{XLIFF_2_NAMESPACE}}}target"):
            segment.remove(stale)
        for attribute in ("state", "subState"):
            segment.attrib.pop(attribute, None)
        if text:
            target = etree.Element(f"{{{XLIFF_2_NAMESPACE}}}target")
            target.text = text
            segment.find(f"{{{XLIFF_2_NAMESPACE}}}source").addnext(target)
    buffer = io.BytesIO()
    parsed.store.document.write(buffer, xml_declaration=True, encoding="UTF-8")
    return buffer.getvalue()


def output_name(input_name: str, target_language: str) -> str:
    """The name Amazon Translate gives the translation of ``input_name`` into ``target_language``."""
    return f"{target_language}.{input_name}"


def input_name_of(output_name: str, target_language: str) -> str:
    """The input file name an Amazon Translate output file was made from.

    Raises:
        ValueError: ``output_name`` does not start with ``<target_language>.``.
    """
    prefix = f"{target_language}."
    if not target_language or not output_name.startswith(prefix) or len(output_name) == len(prefix):
        raise ValueError(f"{output_name!r} is not an output name for {target_language!r}")
    return output_name[len(prefix) :]


def screen_size(data: bytes, max_bytes: int) -> None:
    """Refuse an empty file or one over ``max_bytes``."""
    if not data.strip():
        raise UnsafeDocument("the file is empty")
    if len(data) > max_bytes:
        raise UnsafeDocument(f"the file is {len(data):,} bytes, over the {max_bytes:,}-byte limit")


def screen_text(data: bytes, codec: str) -> str:
    """Decode ``data`` strictly, refusing the first byte that is not valid in ``codec``."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        name = _ENCODINGS.get(codecs.lookup(codec).name, codec.upper())
        raise UnsafeDocument(f"not valid {name} at byte {error.start}") from None


def screen_xml(data: bytes, *, root: str, max_bytes: int) -> Element:
    """Check hostile XML before any other parser sees it; return defusedxml's root element.

    Refuses empty and oversized files, bytes not valid in the declared encoding, DTDs and
    entity declarations (XXE, entity expansion), malformed XML and a root other than ``root``.
    """
    screen_size(data, max_bytes)
    screen_text(data, _encoding_of(data))
    try:
        element = defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise UnsafeDocument("DTD/entity declarations are not allowed (XXE / entity expansion)") from None
    except ParseError as error:
        line, column = error.position
        raise UnsafeDocument(f"not well-formed XML (line {line}, column {column})") from None
    local_name = element.tag.rpartition("}")[2]
    if local_name != root:
        article = _ARTICLES.get(root, f"a <{root}>")
        raise UnsafeDocument(f"not {article} document (root <{local_name[:_SHOWN]}>)")
    return element


def _encoding_of(data: bytes) -> str:
    """The codec the document is in: its byte order mark, else its declaration, else UTF-8."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise UnsafeDocument("UTF-32 documents are not supported (use UTF-8)")
    bom: str | None = None
    head = data[:256]
    if data.startswith(codecs.BOM_UTF8):
        bom, head = "utf-8", data[3:256]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        bom = "utf-16"
        head = data[:256].decode("utf-16", errors="replace").encode("ascii", errors="replace")
    elif data[:2] in (b"<\x00", b"\x00<"):
        raise UnsafeDocument("UTF-16 without a byte order mark")
    match = _DECLARED_ENCODING.match(head.decode("ascii", errors="replace"))
    declared = match.group(1) if match else None
    try:
        codec = codecs.lookup(declared).name if declared else bom or "utf-8"
    except LookupError:
        codec = ""
    if codec not in _ENCODINGS:
        raise UnsafeDocument(f"unsupported encoding {declared!r} (use UTF-8)")
    if bom is not None and codec != bom:
        raise UnsafeDocument(f"declares {_ENCODINGS[codec]} but starts with a {_ENCODINGS[bom]} byte order mark")
    if bom is None and codec == "utf-16":
        raise UnsafeDocument("declares UTF-16 but has no byte order mark")
    return codec


def _parse(data: bytes, max_bytes: int) -> _Parsed:
    root = screen_xml(data, root="xliff", max_bytes=max_bytes)
    version = _version_of(root)
    store = _toolkit_store(data, version)
    source_language, target_language = _languages(store, version)
    toolkit_units = tuple(_translatable(store.units))
    units = tuple(_unit(toolkit_unit, version) for toolkit_unit in toolkit_units)
    if not units:
        raise UnsafeDocument("no translatable units")
    seen: set[str] = set()
    for unit in units:
        if unit.id in seen:
            raise UnsafeDocument(f"duplicate unit id {unit.id[:_SHOWN]!r}")
        seen.add(unit.id)
    document = XliffDocument(version, source_language, target_language, units)
    return _Parsed(document=document, store=store, toolkit_units=toolkit_units)


def _file_of(element: Any) -> Any:
    """The ``<file>`` element holding ``element`` (units may sit inside ``<group>`` elements)."""
    return next(ancestor for ancestor in element.iterancestors() if etree.QName(ancestor).localname == "file")


def _version_of(root: Element) -> str:
    version = root.get("version", "")
    if not XLIFF_VERSION.match(version):
        raise UnsafeDocument(f"unsupported XLIFF version {version[:_SHOWN]!r} (1.1, 1.2 or 2.x)")
    namespace = root.tag.partition("}")[0].lstrip("{") if root.tag.startswith("{") else ""
    if namespace not in XLIFF_NAMESPACES[version[0]]:
        raise UnsafeDocument(f"XLIFF {version} document without the XLIFF {version[0]}.x namespace")
    return version


def _toolkit_store(data: bytes, version: str) -> Any:
    store_class = Xliff2File if version.startswith("2.") else xlifffile
    try:
        return store_class(data)
    except (ValueError, AssertionError, SyntaxError) as error:
        # The screen already parsed the bytes; this is the toolkit refusing the structure.
        raise UnsafeDocument(f"not a readable XLIFF {version} document ({type(error).__name__})") from None


def _languages(store: Any, version: str) -> tuple[str, str]:
    """The (source, target) pair the document states, the same for all of it."""
    root = store.document.getroot()
    if version.startswith("2."):
        # Read the attributes themselves: the toolkit answers "en" for a missing srcLang.
        pairs = {(root.get("srcLang"), root.get("trgLang"))}
        where = "srcLang/trgLang on <xliff>"
    else:
        files = list(root.iterchildren(store.namespaced("file")))
        pairs = {(file.get("source-language"), file.get("target-language")) for file in files}
        where = "source-language/target-language on <file>"
    if len(pairs) > 1:
        shown = ", ".join(sorted(f"{source}>{target}" for source, target in pairs)[:4])
        raise UnsafeDocument(f"mixed language pairs across <file> elements ({shown[: _SHOWN * 2]})")
    source, target = next(iter(pairs), (None, None))
    if not source:
        raise UnsafeDocument(f"no source language ({where})")
    if not target:
        raise UnsafeDocument(f"no target language ({where})")
    for code in (source, target):
        if not LANGUAGE_CODE.match(code):
            raise UnsafeDocument(f"{code[:_SHOWN]!r} is not a language code")
    if source.lower() == target.lower():
        raise UnsafeDocument(f"the source and target languages are the same ({source})")
    return source, target


def _translatable(toolkit_units: list[Any]) -> Iterator[Any]:
    for toolkit_unit in toolkit_units:
        if toolkit_unit.istranslatable() and str(toolkit_unit.source or "").strip():
            yield toolkit_unit


def _unit(toolkit_unit: Any, version: str) -> Unit:
    if version.startswith("2."):
        # getid() would answer "None::s1" for a segment of a unit without an id.
        unit_id = toolkit_unit.getid() if toolkit_unit.getunitelement().get("id") else None
    else:
        # The attribute itself: the toolkit's getid() prefixes "<original>\x04".
        unit_id = toolkit_unit.xmlelement.get("id")
    if not unit_id:
        raise UnsafeDocument("a unit has no id")
    target = toolkit_unit.target
    return Unit(id=str(unit_id), source=str(toolkit_unit.source), target=None if target is None else str(target))
