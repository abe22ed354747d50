"""The language codes Amazon Transcribe and Amazon Translate accept, and how one maps to the other.

Pure data (no I/O), so the API, the CLI and the workflow can all use it. The lists are
AWS's documented ones: Transcribe's batch ``LanguageCode`` values and Translate's
supported languages. They are what the edge validates against, so a typo gets a clear
422 before anything starts; inside a running pipeline the services themselves are the
authority (an unsupported pair comes back from Translate as a typed error).
"""

from __future__ import annotations


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


TRANSCRIBE_LANGUAGES = _codes(
    """
    af-ZA ar-AE ar-SA am-ET cy-GB da-DK de-CH de-DE en-AB en-AU en-GB en-IE en-IN en-US en-WL
    es-ES es-MX es-US fa-AF fa-IR fr-CA fr-FR ga-IE gd-GB he-IL hi-IN ht-HT id-ID it-IT ja-JP
    jv-ID km-KH ko-KR my-MM ms-MY nl-NL pt-BR pt-PT ru-RU ta-IN te-IN tr-TR zh-CN zh-TW th-TH
    en-ZA en-NZ vi-VN sv-SE ab-GE ast-ES az-AZ ba-RU be-BY bg-BG bn-IN bs-BA ca-ES ckb-IQ ckb-IR
    cs-CZ cy-WL el-GR et-EE et-ET eu-ES fi-FI gl-ES gu-IN ha-NG hr-HR hu-HU hy-AM is-IS ka-GE
    kab-DZ kk-KZ kn-IN ky-KG lg-IN lt-LT lv-LV mhr-RU mi-NZ mk-MK ml-IN mn-MN mr-IN mt-MT no-NO
    ne-NP or-IN pa-IN pl-PL ps-AF ro-RO rw-RW si-LK sk-SK sl-SI so-SO sq-AL sr-RS su-ID sw-BI
    sw-KE sw-RW sw-TZ sw-UG tl-PH tt-RU ug-CN uk-UA uz-UZ wo-SN zh-HK zu-ZA
    """
)
"""Language codes of Amazon Transcribe batch jobs (``StartTranscriptionJob.LanguageCode``)."""

TRANSLATE_LANGUAGES = _codes(
    """
    af sq am ar hy az bn bs bg ca zh zh-TW hr cs da fa-AF nl en et fa tl fi fr fr-CA ka de el
    gu ht ha he hi hu is id ga it ja kn kk ko lv lt mk ms ml mt mr mn no ps pl pt pt-PT pa ro
    ru sr si sk sl so es es-MX sw sv ta te th tr uk ur uz vi cy
    """
)
"""Language codes Amazon Translate translates from and into."""

_TRANSLATE_ALIASES = {"zh-HK": "zh-TW", "fa-IR": "fa", "es-US": "es-MX"}


def translate_source_language(transcribe_code: str) -> str | None:
    """The Translate code of the language Transcribe heard (``en-US`` -> ``en``), or None.

    A regional variant Translate knows by name (``fr-CA``, ``pt-PT``, ``zh-TW``) keeps its
    region; otherwise the primary language subtag is used.
    """
    if transcribe_code in _TRANSLATE_ALIASES:
        return _TRANSLATE_ALIASES[transcribe_code]
    if transcribe_code in TRANSLATE_LANGUAGES:
        return transcribe_code
    primary = transcribe_code.split("-", 1)[0]
    return primary if primary in TRANSLATE_LANGUAGES else None
