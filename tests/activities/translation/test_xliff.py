"""XLIFF reading, hostile-file screening and machine-translation flagging (pure, no services)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from lxml import etree

from activities.translation.xliff import (
    MT_SUBSTATE_2,
    Unit,
    UnsafeDocument,
    XliffDocument,
    flag_machine_translated,
    for_translate,
    input_name_of,
    merge_targets,
    missing_units,
    output_name,
    read_xliff,
)

DATA = Path(__file__).parents[2] / "data" / "translation"
DTD_REFUSED = "DTD/entity declarations are not allowed (XXE / entity expansion)"


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def refusal(data: bytes, max_bytes: int = 20 * 1024 * 1024) -> str:
    with pytest.raises(UnsafeDocument) as caught:
        read_xliff(data, max_bytes=max_bytes)
    return caught.value.reason


def test_xliff_1_2_gives_languages_ids_and_billed_characters() -> None:
    document = read_xliff(fixture("source-1.2.xlf"))
    assert (document.version, document.source_language, document.target_language) == ("1.2", "en", "fr")
    # translate="no" units are not sent for translation, so neither listed nor billed;
    # units inside <group> are; inline tags are flattened to their text.
    assert document.units == (
        Unit("greeting", "Welcome to Stepwise!", None),
        Unit("intro", "Durable workflows, one step at a time.", None),
        Unit("copyright", "All rights reserved.", "Tous droits réservés."),
    )
    assert document.characters == 20 + 38 + 20
    assert document.segments == 3


def test_xliff_2_0_gives_languages_segment_ids_and_billed_characters() -> None:
    document = read_xliff(fixture("source-2.0.xlf"))
    assert (document.version, document.source_language, document.target_language) == ("2.0", "en-US", "de-DE")
    assert [unit.id for unit in document.units] == ["title", "body::s1", "body::s2"]
    assert document.units[0] == Unit("title", "Order confirmed", None)
    assert document.units[2].target == "Ihre Bestellung wird heute versandt."
    assert document.characters == 15 + 10 + 23
    assert document.segments == 3


def test_xliff_2_1_is_read_as_its_declared_version() -> None:
    data = fixture("source-2.0.xlf").replace(b'version="2.0"', b'version="2.1"')
    assert read_xliff(data).version == "2.1"


def test_a_utf16_document_with_its_byte_order_mark_is_read() -> None:
    text = fixture("source-1.2.xlf").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    document = read_xliff(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert document.units[2].target == "Tous droits réservés."


def test_a_document_declaring_latin1_is_read_and_flagged_to_utf8() -> None:
    source = fixture("latin1-declared-utf8.xlf").replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    assert read_xliff(source).units[2] == Unit("copyright", "Café ouvert.", "Tous droits réservés.")
    flagged = flag_machine_translated(source, source)
    assert flagged.flagged == 0
    assert "Café ouvert.".encode() in flagged.data
    assert read_xliff(flagged.data) == read_xliff(source)


def test_missing_units_lists_absent_and_blank_targets() -> None:
    source = read_xliff(fixture("source-1.2.xlf"))
    assert missing_units(source, read_xliff(fixture("output-1.2.xlf"))) == []
    assert missing_units(source, source) == ["greeting", "intro"]
    blank = XliffDocument(
        "1.2", "en", "fr", (Unit("greeting", "Welcome to Stepwise!", "  "), Unit("copyright", "x", "y"))
    )
    assert missing_units(source, blank) == ["greeting", "intro"]


def test_flagging_xliff_1_2_marks_machine_targets_and_leaves_the_translators() -> None:
    flagged = flag_machine_translated(fixture("source-1.2.xlf"), fixture("output-1.2.xlf"))
    assert (flagged.segments, flagged.flagged) == (3, 2)
    marked = b'<target state="needs-review-translation" state-qualifier="leveraged-mt">'
    assert flagged.data.count(marked) == 2
    assert b"<target>Tous droits r\xc3\xa9serv\xc3\xa9s.</target>" in flagged.data
    assert flagged.data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert read_xliff(flagged.data) == read_xliff(fixture("output-1.2.xlf"))


def test_flagging_xliff_2_0_sets_segment_state_and_substate() -> None:
    flagged = flag_machine_translated(fixture("source-2.0.xlf"), fixture("output-2.0.xlf"))
    assert (flagged.segments, flagged.flagged) == (3, 2)
    assert flagged.data.count(f'state="translated" subState="{MT_SUBSTATE_2}"'.encode()) == 2
    assert b'<segment id="s2"><source>' in flagged.data  # the translator's segment is untouched
    assert read_xliff(flagged.data) == read_xliff(fixture("output-2.0.xlf"))


def test_a_translator_target_the_machine_changed_is_flagged() -> None:
    output = fixture("output-1.2.xlf").replace("Tous droits réservés.".encode(), b"Droits reserves.")
    flagged = flag_machine_translated(fixture("source-1.2.xlf"), output)
    assert flagged.flagged == 3


def test_flagging_refuses_a_hostile_output() -> None:
    with pytest.raises(UnsafeDocument, match="DTD"):
        flag_machine_translated(fixture("source-1.2.xlf"), fixture("xxe.xlf"))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("xxe.xlf", DTD_REFUSED),
        ("billion-laughs.xlf", DTD_REFUSED),
        ("doctype-only.xlf", DTD_REFUSED),
        ("latin1-declared-utf8.xlf", "not valid UTF-8 at byte 618"),
        ("empty.xlf", "the file is empty"),
        ("not-xml.xlf", "not well-formed XML (line 1, column 0)"),
        ("html-root.xlf", "not an XLIFF document (root <html>)"),
        ("mixed-pairs-1.2.xlf", "mixed language pairs across <file> elements (en>de, en>fr)"),
        ("no-target-1.2.xlf", "no target language (source-language/target-language on <file>)"),
        ("no-target-2.0.xlf", "no target language (srcLang/trgLang on <xliff>)"),
        ("duplicate-ids-1.2.xlf", "duplicate unit id '1'"),
        ("no-units-2.0.xlf", "no translatable units"),
    ],
)
def test_hostile_and_unusable_files_are_refused_with_their_reason(name: str, reason: str) -> None:
    assert refusal(fixture(name)) == reason


def test_the_latin1_byte_is_where_the_reason_says() -> None:
    data = fixture("latin1-declared-utf8.xlf")
    assert data[618:619] == b"\xe9"


def test_an_external_entity_never_reaches_the_text(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t")
    data = fixture("xxe.xlf").replace(b"file:///etc/passwd", f"file://{secret}".encode())
    reason = refusal(data)
    assert reason == DTD_REFUSED
    assert "s3cr3t" not in reason


def test_an_oversized_file_is_refused_before_parsing() -> None:
    data = fixture("source-1.2.xlf")
    assert refusal(data, max_bytes=100) == f"the file is {len(data):,} bytes, over the 100-byte limit"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"   \n", "the file is empty"),
        ("<xliff/>".encode("utf-16-le"), "UTF-16 without a byte order mark"),
        (b'<?xml version="1.0" encoding="UTF-16"?><xliff/>', "declares UTF-16 but has no byte order mark"),
        (codecs.BOM_UTF8 + b'<?xml version="1.0" encoding="ISO-8859-1"?><xliff/>', "declares ISO-8859-1 but"),
        (b'<?xml version="1.0" encoding="EBCDIC-CP-US"?><xliff/>', "unsupported encoding 'EBCDIC-CP-US'"),
        (b'<?xml version="1.0" encoding="US-ASCII"?><xliff>\xc3\xa9</xliff>', "not valid US-ASCII at byte 48"),
        (b'<xliff version="3.0"/>', "unsupported XLIFF version '3.0'"),
        (b'<xliff version="2.0"/>', "XLIFF 2.0 document without the XLIFF 2.x namespace"),
        (
            b'<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en" trgLang="fr">'
            b'<file id="f"><unit><segment><source>Hi</source></segment></unit></file></xliff>',
            "a unit has no id",
        ),
        (
            b'<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en" trgLang="EN">'
            b'<file id="f"><unit id="u"><segment><source>Hi</source></segment></unit></file></xliff>',
            "the source and target languages are the same (en)",
        ),
        (
            b'<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en" trgLang="fr!">'
            b'<file id="f"><unit id="u"><segment><source>Hi</source></segment></unit></file></xliff>',
            "'fr!' is not a language code",
        ),
    ],
)
def test_bytes_that_are_not_a_usable_xliff_document_are_refused(data: bytes, reason: str) -> None:
    assert refusal(data).startswith(reason)


def test_output_names_follow_amazon_translate() -> None:
    assert output_name("manual/intro.xlf", "fr") == "fr.manual/intro.xlf"
    assert input_name_of("fr.manual/intro.xlf", "fr") == "manual/intro.xlf"
    assert input_name_of(output_name("a.xlf", "zh-TW"), "zh-TW") == "a.xlf"
    with pytest.raises(ValueError, match="not an output name"):
        input_name_of("de.a.xlf", "fr")
    with pytest.raises(ValueError, match="not an output name"):
        input_name_of("fr.", "fr")


NS12 = {"x": "urn:oasis:names:tc:xliff:document:1.2"}
TWO_FILES_2_0 = b"""<?xml version="1.0" encoding="UTF-8"?>
<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en" trgLang="fr">
  <file id="f1" original="guide.md">
    <group id="g"><unit id="intro"><segment><source>Hello <ph id="1"/>there.</source></segment></unit></group>
  </file>
  <file id="f2">
    <unit id="outro">
      <segment id="a"><source>Bye.</source></segment><segment id="b"><source>Later.</source></segment>
    </unit>
  </file>
</xliff>
"""


def translated_by_machine(data: bytes, drop: str | None = None) -> bytes:
    """What Translate answers for a 1.2 document: every trans-unit given a target (but ``drop``)."""
    root = etree.fromstring(data)
    for unit in root.iterfind(".//x:trans-unit", NS12):
        if unit.get("id") != drop:
            target = etree.SubElement(unit, "{urn:oasis:names:tc:xliff:document:1.2}target")
            target.text = f"[fr] {unit.findtext('x:source', namespaces=NS12)}"
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result


def test_xliff_2_goes_to_translate_as_1_2_with_the_same_ids_and_sources() -> None:
    for data in (fixture("source-2.0.xlf"), TWO_FILES_2_0):
        sent = for_translate(data)
        as_read, as_sent = read_xliff(data), read_xliff(sent)
        assert as_sent.version == "1.2"
        assert (as_sent.source_language, as_sent.target_language) == (as_read.source_language, as_read.target_language)
        assert [(unit.id, unit.source) for unit in as_sent.units] == [(unit.id, unit.source) for unit in as_read.units]
        assert all(unit.target is None for unit in as_sent.units)  # the translator's target is not sent
    files = etree.fromstring(for_translate(TWO_FILES_2_0)).findall("x:file", NS12)
    assert [(file.get("original"), file.get("datatype")) for file in files] == [
        ("guide.md", "plaintext"),
        ("f2", "plaintext"),
    ]
    assert [unit.get("id") for unit in files[1].iterfind(".//x:trans-unit", NS12)] == ["outro::a", "outro::b"]


def test_a_hostile_document_is_refused_before_it_is_rendered_for_translate() -> None:
    with pytest.raises(UnsafeDocument, match="DTD"):
        for_translate(fixture("xxe.xlf"))
    with pytest.raises(UnsafeDocument, match="DTD"):
        merge_targets(fixture("source-2.0.xlf"), fixture("xxe.xlf"))


def test_translate_targets_merge_back_into_the_xliff_2_document() -> None:
    source = fixture("source-2.0.xlf")
    merged = merge_targets(source, translated_by_machine(for_translate(source)))
    assert merged.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    document = read_xliff(merged)
    assert document.version == "2.0"
    assert [(unit.id, unit.target) for unit in document.units] == [
        ("title", "[fr] Order confirmed"),
        ("body::s1", "[fr] Thank you."),
        ("body::s2", "[fr] Your order ships today."),
    ]
    assert missing_units(read_xliff(source), document) == []
    root = etree.fromstring(merged)
    segment = root.find(".//{*}unit[@id='title']/{*}segment")
    assert [etree.QName(child).localname for child in segment] == ["source", "target"]
    assert root.find(".//{*}unit[@id='sku']/{*}segment/{*}target") is None  # translate="no" stays as it was


def test_a_unit_translate_left_out_stays_without_target_and_is_missing() -> None:
    source = TWO_FILES_2_0
    merged = merge_targets(source, translated_by_machine(for_translate(source), drop="outro::a"))
    assert missing_units(read_xliff(source), read_xliff(merged)) == ["outro::a"]
    blank = translated_by_machine(for_translate(source)).replace(b"[fr] Later.", b" ")
    assert missing_units(read_xliff(source), read_xliff(merge_targets(source, blank))) == ["outro::b"]


def test_a_translator_target_translate_left_out_is_not_passed_off_as_translated() -> None:
    source = fixture("source-2.0.xlf").replace(b'<segment id="s2">', b'<segment id="s2" state="final">')
    merged = merge_targets(source, translated_by_machine(for_translate(source), drop="body::s2"))
    assert missing_units(read_xliff(source), read_xliff(merged)) == ["body::s2"]
    assert b'state="final"' not in merged


def test_flagging_a_merged_xliff_2_document_marks_its_machine_segments() -> None:
    source = fixture("source-2.0.xlf")
    machine = translated_by_machine(for_translate(source)).replace(
        b"[fr] Your order ships today.", b"Ihre Bestellung wird heute versandt."
    )
    flagged = flag_machine_translated(source, merge_targets(source, machine))
    assert (flagged.segments, flagged.flagged) == (3, 2)
    assert flagged.data.count(f'state="translated" subState="{MT_SUBSTATE_2}"'.encode()) == 2
    # The translator's segment, unchanged by the machine, keeps its target and no state.
    assert b'<segment id="s2"><source>' in flagged.data


def test_xliff_1_2_passes_through_both_unchanged() -> None:
    source, output = fixture("source-1.2.xlf"), fixture("output-1.2.xlf")
    assert for_translate(source) == source
    assert merge_targets(source, output) == output
