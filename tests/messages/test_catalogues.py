"""The crews' message catalogues: the same keys and placeholders in every language, loaded strictly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotspotctl.errors import ConfigError
from hotspotctl.evaluate.outages import STOP_CAUSES
from hotspotctl.messages import DEFAULT_LANGUAGE, LANGUAGES, catalogue, placeholders
from hotspotctl.settings import load_settings

PACKAGE = Path(__file__).resolve().parents[2] / "hotspotctl"


def test_every_key_is_in_every_language_with_the_same_placeholders():
    es, en = catalogue("es"), catalogue("en")
    assert LANGUAGES == ("es", "en") and DEFAULT_LANGUAGE == "es"
    assert set(es.texts) == set(en.texts)
    assert len(es.texts) > 80
    differ = {key: (placeholders(en.texts[key]), placeholders(es.texts[key])) for key in en.texts
              if placeholders(en.texts[key]) != placeholders(es.texts[key])}
    assert differ == {}
    # a plural pair is whole: key_one has its key_other
    for text in (es, en):
        ones = {k.removesuffix("_one") for k in text.texts if k.endswith("_one")}
        others = {k.removesuffix("_other") for k in text.texts if k.endswith("_other")}
        assert ones == others


def test_every_cause_a_crew_can_get_has_its_words():
    for language in LANGUAGES:
        text = catalogue(language)
        for cause in (*STOP_CAUSES, "backhaul_degraded"):  # backhaul_degraded: issue 18's new cause (reach)
            assert text.has(f"cause.{cause}") and text.has(f"short.{cause}"), (language, cause)
        assert text.has("action.backhaul_degraded")


def test_every_key_the_code_asks_for_exists():
    """Literal keys in the code (t("page.heading"), t.plural("count.aps", n)) are in both catalogues."""
    asked = set()
    for path in [*PACKAGE.glob("reports/*.py"), *PACKAGE.glob("delivery/*.py")]:
        for key in re.findall(r'\bt(?:\.plural)?\(\s*"([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")):
            asked.add(key)
    assert len(asked) > 40
    for language in LANGUAGES:
        text = catalogue(language)
        missing = [key for key in sorted(asked) if not text.has(key) and not text.has(f"{key}_one")]
        assert missing == [], language


def test_spanish_is_written_with_its_accents_and_mexico_citys_words():
    es = catalogue("es")
    assert es("page.district") == "Alcaldía"
    assert es("page.neighborhood") == "Colonia"
    assert es.plural("count.stops", 1) == "1 parada" and es.plural("count.stops", 3) == "3 paradas"
    assert es("cause.offline") == "AP caído"
    assert es("print.where") == "Dónde"
    whole = " ".join(es.texts.values())
    for word in ("energía", "después", "alineación", "Además", "Vehículo", "más"):
        assert word in whole
    assert not re.search(r"\b(?:energia|despues|alineacion|vehiculo)\b", whole, re.IGNORECASE)


def test_a_value_is_text_and_braces_in_it_stay_as_written():
    en = catalogue("en")
    assert en("email.subject", zone="{zone} <b>", stops="1 stop", date="2026-11-22") == \
        "Crew list {zone} <b>: 1 stop (2026-11-22)"


def test_an_unknown_language_is_refused():
    with pytest.raises(ConfigError, match="'fr': expected one of es, en"):
        catalogue("fr")


def test_the_language_settings_are_checked_at_load(tmp_path):
    assert load_settings(env={}).settings.crew_zones.language == "es"
    good = tmp_path / "good.toml"
    good.write_text('[crew_zones]\nlanguage = "en"\nlanguages = { "Iztapalapa" = "es" }\n', encoding="utf-8")
    zones = load_settings(good, env={}).settings.crew_zones
    assert (zones.language, zones.languages) == ("en", {"Iztapalapa": "es"})
    for body, said in (('[crew_zones]\nlanguage = "fr"\n', "'fr' is not one of es, en"),
                       ('[crew_zones]\nlanguages = { "Tlalpan" = "EN" }\n', "Tlalpan: 'EN' is not one of es, en")):
        bad = tmp_path / "bad.toml"
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(ConfigError, match=re.escape(said)):
            load_settings(bad, env={})
    assert load_settings(env={"HOTSPOTCTL_CREW_ZONES_LANGUAGE": "en"}).settings.crew_zones.language == "en"
