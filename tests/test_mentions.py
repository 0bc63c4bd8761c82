"""The country/organisation mention detector, on the span conventions of the corpus."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from diplostance.mentions import (
    Mention,
    entity_name,
    find_mentions,
    is_known_entity,
    known_entities,
)


def spans(text: str) -> list[tuple[str, str]]:
    return [(m.text, m.entity) for m in find_mentions(text)]


def found(text: str) -> dict[str, str]:
    return {m.text: m.entity for m in find_mentions(text)}


# ---------------------------------------------------------------- the Mention object
def test_mentions_are_frozen_offsets_into_the_text():
    text = "Russia and Cuba condemned what they called a coup, while Canada recognized the opposition leader."
    ms = find_mentions(text)
    assert ms == [
        Mention(0, 6, "Russia", "RUS", "name"),
        Mention(11, 15, "Cuba", "CUB", "name"),
        Mention(57, 63, "Canada", "CAN", "name"),
    ]
    for m in ms:
        assert text[m.start:m.end] == m.text
    from dataclasses import FrozenInstanceError

    with pytest.raises(FrozenInstanceError):
        ms[0].entity = "USA"  # type: ignore[misc]


def test_empty_and_mention_free_text():
    assert find_mentions("") == []
    assert find_mentions("The opposition leader addressed supporters in the capital.") == []


# ---------------------------------------------------------------- every member and observer
def test_every_un_member_observer_and_extra_state_is_known_and_found_by_its_short_name():
    import country_converter as coco

    data = coco.CountryConverter().data
    codes = set(data[data["UNmember"].notna()]["ISO3"]) | {"PSE", "VAT", "XKX", "TWN", "NIU", "COK"}
    assert len(codes) >= 197
    for code in sorted(codes):
        assert is_known_entity(code), code
        name = entity_name(code)
        ms = find_mentions(f"Officials from {name} attended the talks.")
        assert [(m.text, m.entity) for m in ms] == [(name, code)], (code, name, ms)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the US said", [("US", "USA")]),
        ("the U.S. said", [("U.S.", "USA")]),
        ("the USA said", [("USA", "USA")]),
        ("the United States said", [("United States", "USA")]),
        ("America will not stand by", [("America", "USA")]),
        ("the UK and the U.K. and Britain and Great Britain and the United Kingdom",
         [("UK", "GBR"), ("U.K.", "GBR"), ("Britain", "GBR"), ("Great Britain", "GBR"), ("United Kingdom", "GBR")]),
        ("Ivory Coast, Cote d'Ivoire and Côte d’Ivoire",
         [("Ivory Coast", "CIV"), ("Cote d'Ivoire", "CIV"), ("Côte d’Ivoire", "CIV")]),
        ("Burma, also called Myanmar", [("Burma", "MMR"), ("Myanmar", "MMR")]),
        ("the DRC, the Democratic Republic of Congo, the Democratic Republic of the Congo",
         [("DRC", "COD"), ("Democratic Republic of Congo", "COD"), ("Democratic Republic of the Congo", "COD")]),
        ("in the Gambia and The Gambia", [("Gambia", "GMB"), ("Gambia", "GMB")]),
        ("Turkey, Turkiye and Türkiye", [("Turkey", "TUR"), ("Turkiye", "TUR"), ("Türkiye", "TUR")]),
        ("Swaziland, now Eswatini", [("Swaziland", "SWZ"), ("Eswatini", "SWZ")]),
        ("the UAE and the United Arab Emirates", [("UAE", "ARE"), ("United Arab Emirates", "ARE")]),
        ("the Russian Federation", [("Russian Federation", "RUS")]),
        ("the People's Republic of China", [("People's Republic of China", "CHN")]),
        ("the Holy See and the Vatican", [("Holy See", "VAT"), ("Vatican", "VAT")]),
        ("Kosovo, Taiwan and Palestine", [("Kosovo", "XKX"), ("Taiwan", "TWN"), ("Palestine", "PSE")]),
        ("NIUE, May 2 - Niue and the Cook Islands", [("NIUE", "NIU"), ("Niue", "NIU"), ("Cook Islands", "COK")]),
        ("Czechia and the Czech Republic", [("Czechia", "CZE"), ("Czech Republic", "CZE")]),
        ("North Macedonia, formerly Macedonia", [("North Macedonia", "MKD"), ("Macedonia", "MKD")]),
        ("Cape Verde or Cabo Verde; East Timor or Timor-Leste",
         [("Cape Verde", "CPV"), ("Cabo Verde", "CPV"), ("East Timor", "TLS"), ("Timor-Leste", "TLS")]),
        ("Saint Vincent and the Grenadines and St. Kitts and Nevis",
         [("Saint Vincent and the Grenadines", "VCT"), ("St. Kitts and Nevis", "KNA")]),
        ("the Netherlands, also called Holland", [("Netherlands", "NLD"), ("Holland", "NLD")]),
        ("Korea, Republic of", []),
    ],
)
def test_short_and_old_forms(text, expected):
    assert spans(text) == expected


# ---------------------------------------------------------------- apostrophes, possessives, hyphens
def test_possessives_straight_and_typographic():
    text = "Venezuela's neighbours and Russia’s envoy met the US's allies and China‘s diplomats."
    assert spans(text) == [("Venezuela", "VEN"), ("Russia", "RUS"), ("US", "USA"), ("China", "CHN")]


def test_hyphenated_forms_keep_the_name_only():
    text = ("Russian-backed forces, U.S.-backed talks, EU member-countries, Mercosur member-countries "
            "and a Russia-Ukraine deal")
    assert spans(text) == [("Russian", "RUS"), ("U.S.", "USA"), ("EU", "EU"), ("Mercosur", "MERCOSUR"),
                           ("Russia", "RUS"), ("Ukraine", "UKR")]


def test_no_match_inside_words():
    assert spans("Omani officials, a Roman road, USAID funds, UNASUR and the UNDP") == [
        ("Omani", "OMN"), ("UNASUR", "UNASUR")]
    assert spans("Indiana and Nigerians, a Malian and Malians") == [("Malian", "MLI")]


# ---------------------------------------------------------------- demonyms, capitals, institutions
def test_demonyms_as_modifiers():
    text = "the Russian foreign ministry and Chinese diplomats; a Saudi-led coalition, Emirati troops, Dutch and Brazilian envoys"
    assert spans(text) == [("Russian", "RUS"), ("Chinese", "CHN"), ("Saudi", "SAU"), ("Emirati", "ARE"),
                           ("Dutch", "NLD"), ("Brazilian", "BRA")]
    assert [m.kind for m in find_mentions(text)] == ["demonym"] * 6


def test_regional_adjectives_and_orientations_are_not_mentions():
    text = ("European, African, Arab, Western, Latin American, Gulf, Nordic, Baltic and Asian states; "
            "South American leaders; a pro-Russian president; anti-American protests; Congolese and Korean officials")
    assert spans(text) == []


def test_demonym_pairs_resolve_to_the_right_country():
    assert found("South Sudanese and Sudanese, Nigerien and Nigerian, North Korean and South Korean, "
                 "South African, Equatorial Guinean, Papua New Guinean, Dominican") == {
        "South Sudanese": "SSD", "Sudanese": "SDN", "Nigerien": "NER", "Nigerian": "NGA",
        "North Korean": "PRK", "South Korean": "KOR", "South African": "ZAF",
        "Equatorial Guinean": "GNQ", "Papua New Guinean": "PNG", "Dominican": "DOM"}


def test_capitals_and_seats_as_metonyms():
    text = "Moscow said, Washington recognized, Beijing urged, Brussels imposed, talks in Doha, envoys in Bogotá"
    ms = find_mentions(text)
    assert [(m.text, m.entity, m.kind) for m in ms] == [
        ("Moscow", "RUS", "capital"), ("Washington", "USA", "capital"), ("Beijing", "CHN", "capital"),
        ("Brussels", "EU", "capital"), ("Doha", "QAT", "capital"), ("Bogotá", "COL", "capital")]


def test_non_capital_cities_are_not_mentions():
    assert spans("talks in Geneva, New York, Istanbul, Lagos, Jeddah, Sochi, Miami and Abidjan") == []


def test_all_caps_datelines():
    assert spans("CARACAS, Jan 24 - The opposition leader spoke.") == [("CARACAS", "VEN")]
    assert spans("UNITED NATIONS, Jan 26 (Reuters) - The council met.") == [("UNITED NATIONS", "UN")]
    assert spans("WASHINGTON/MOSCOW, Feb 1 - Officials said.") == [("WASHINGTON", "USA"), ("MOSCOW", "RUS")]
    assert spans("ADDIS ABABA, Dec 9 - The AU met.") == [("ADDIS ABABA", "ETH"), ("AU", "AU")]


def test_institutions():
    text = ("the Kremlin, the White House, the State Department, the Pentagon, Downing Street, "
            "the Foreign Office, the Elysee, the Élysée, the Quai d'Orsay, the Itamaraty and the Casa Rosada")
    ms = find_mentions(text)
    assert [m.entity for m in ms] == ["RUS", "USA", "USA", "USA", "GBR", "GBR", "FRA", "FRA", "FRA", "BRA", "ARG"]
    assert {m.kind for m in ms} == {"institution"}


def test_country_word_plus_institution_gives_two_mentions():
    assert spans("the US State Department said") == [("US", "USA"), ("State Department", "USA")]
    assert spans("the British Foreign Office said") == [("British", "GBR"), ("Foreign Office", "GBR")]
    # another country's foreign office is that country only
    assert spans("the German Foreign Office said") == [("German", "DEU")]


# ---------------------------------------------------------------- organisations
@pytest.mark.parametrize(
    "text, expected",
    [
        ("the UN and the U.N.", [("UN", "UN"), ("U.N.", "UN")]),
        ("the United Nations", [("United Nations", "UN")]),
        ("the UN Security Council", [("UN Security Council", "UN")]),
        ("the U.N. Security Council", [("U.N. Security Council", "UN")]),
        ("the Security Council and the UN General Assembly", [("Security Council", "UN"), ("UN General Assembly", "UN")]),
        ("UN Secretary-General Antonio Guterres", [("UN", "UN")]),
        ("the UN Human Rights Council", [("UN Human Rights Council", "UN")]),
        ("the EU and the European Union", [("EU", "EU"), ("European Union", "EU")]),
        ("the European Commission and the European Parliament", [("European Commission", "EU"), ("European Parliament", "EU")]),
        ("the OAS, the Organization of American States", [("OAS", "OAS"), ("Organization of American States", "OAS")]),
        ("the African Union and the AU Peace and Security Council",
         [("African Union", "AU"), ("AU Peace and Security Council", "AU")]),
        ("ECOWAS and SADC", [("ECOWAS", "ECOWAS"), ("SADC", "SADC")]),
        ("the Lima Group", [("Lima Group", "LIMA_GROUP")]),
        ("the Arab League and the League of Arab States",
         [("Arab League", "ARAB_LEAGUE"), ("League of Arab States", "ARAB_LEAGUE")]),
        ("CARICOM, MERCOSUR, Mercosur, ASEAN, NATO, the G7, the G20", [
            ("CARICOM", "CARICOM"), ("MERCOSUR", "MERCOSUR"), ("Mercosur", "MERCOSUR"), ("ASEAN", "ASEAN"),
            ("NATO", "NATO"), ("G7", "G7"), ("G20", "G20")]),
        ("IGAD, the EAC, UNASUR, ALBA, CELAC, the OSCE, BRICS, OPEC, the OIC, the GCC", [
            ("IGAD", "IGAD"), ("EAC", "EAC"), ("UNASUR", "UNASUR"), ("ALBA", "ALBA"), ("CELAC", "CELAC"),
            ("OSCE", "OSCE"), ("BRICS", "BRICS"), ("OPEC", "OPEC"), ("OIC", "OIC"), ("GCC", "GCC")]),
        ("the Commonwealth and the International Contact Group and the Libya Contact Group", [
            ("Commonwealth", "COMMONWEALTH"), ("International Contact Group", "ICG"),
            ("Libya Contact Group", "LIBYA_CONTACT_GROUP")]),
        ("the Economic Community of West African States", [("Economic Community of West African States", "ECOWAS")]),
    ],
)
def test_organisations(text, expected):
    assert spans(text) == expected
    assert all(m.kind == "organisation" for m in find_mentions(text))


def test_security_councils_that_are_not_the_un():
    assert spans("the White House National Security Council") == [("White House", "USA")]
    assert spans("the Russian Security Council") == [("Russian", "RUS")]
    assert spans("the OAS General Assembly") == [("OAS", "OAS")]


def test_other_organisations_are_not_mentions():
    assert spans("the IMF, the World Bank, the ICC, the Red Cross and Amnesty International") == []


# ---------------------------------------------------------------- ambiguous forms
def test_georgia_country_versus_us_state():
    assert spans("Georgia and Ukraine urged restraint.") == [("Georgia", "GEO"), ("Ukraine", "UKR")]
    assert spans("Tbilisi said Georgia would back the sanctions.") == [("Tbilisi", "GEO"), ("Georgia", "GEO")]
    assert spans("Voters in Atlanta, Georgia, went to the polls.") == []
    assert spans("Georgia Governor Brian Kemp signed the bill.") == []
    assert spans("Georgia voters backed Biden in the U.S. election.") == [("U.S.", "USA")]
    assert spans("the U.S. state of Georgia") == [("U.S.", "USA")]


def test_jordan_country_versus_person():
    assert spans("Jordan and Egypt urged dialogue.") == [("Jordan", "JOR"), ("Egypt", "EGY")]
    assert spans("Jordan's King Abdullah said") == [("Jordan", "JOR")]
    assert spans("Jordan Bardella, president of the National Rally, said") == []
    assert spans("The statement was read by Michael Jordan on Monday.") == []
    assert spans("Neighbouring Jordan closed its border.") == [("Jordan", "JOR")]


def test_chad_country_versus_person():
    assert spans("Chad and Niger sent troops.") == [("Chad", "TCD"), ("Niger", "NER")]
    assert spans("Chad Smith said the band would tour.") == []
    assert spans("fishermen on Lake Chad") == []


def test_niger_versus_nigeria():
    assert spans("Niger, Nigeria and the Niger Delta") == [("Niger", "NER"), ("Nigeria", "NGA")]
    assert spans("Nigerien and Nigerian troops") == [("Nigerien", "NER"), ("Nigerian", "NGA")]


def test_the_guineas():
    text = "Guinea, Guinea-Bissau, Equatorial Guinea and Papua New Guinea, off the Gulf of Guinea and New Guinea"
    assert spans(text) == [("Guinea", "GIN"), ("Guinea-Bissau", "GNB"), ("Equatorial Guinea", "GNQ"),
                           ("Papua New Guinea", "PNG")]
    assert spans("Guinea pigs") == []


def test_the_two_congos():
    assert spans("the Democratic Republic of Congo and the Republic of Congo") == [
        ("Democratic Republic of Congo", "COD"), ("Republic of Congo", "COG")]
    assert spans("DR Congo, Congo-Brazzaville and Congo-Kinshasa") == [
        ("DR Congo", "COD"), ("Congo-Brazzaville", "COG"), ("Congo-Kinshasa", "COD")]
    assert spans("Kinshasa and Brazzaville") == [("Kinshasa", "COD"), ("Brazzaville", "COG")]
    assert spans("Congo's President Denis Sassou Nguesso") == [("Congo", "COG")]
    assert spans("rebels in eastern Congo") == [("Congo", "COD")]
    assert spans("the Congo River") == []


def test_the_two_koreas():
    assert spans("North Korea and South Korea") == [("North Korea", "PRK"), ("South Korea", "KOR")]
    assert spans("Pyongyang and Seoul, the DPRK and the ROK") == [
        ("Pyongyang", "PRK"), ("Seoul", "KOR"), ("DPRK", "PRK"), ("ROK", "KOR")]
    assert spans("the Democratic People's Republic of Korea and the Republic of Korea") == [
        ("Democratic People's Republic of Korea", "PRK"), ("Republic of Korea", "KOR")]
    assert spans("the two Koreas and the Korean peninsula") == []


def test_sudan_versus_south_sudan():
    assert spans("Sudan and South Sudan") == [("Sudan", "SDN"), ("South Sudan", "SSD")]
    assert spans("Khartoum and Juba") == [("Khartoum", "SDN"), ("Juba", "SSD")]


def test_dominica_versus_dominican_republic():
    assert spans("Dominica and the Dominican Republic") == [("Dominica", "DMA"), ("Dominican Republic", "DOM")]
    assert spans("Roseau and Santo Domingo") == [("Roseau", "DMA"), ("Santo Domingo", "DOM")]


def test_washington_government_person_state():
    assert spans("Washington recognized Guaido.") == [("Washington", "USA")]
    assert spans("WASHINGTON, Jan 23 - officials said") == [("WASHINGTON", "USA")]
    assert spans("a statue of George Washington") == []
    assert spans("as Denzel Washington put it") == []
    assert spans("the Washington Post reported") == []
    assert spans("wildfires in Washington state") == []
    assert spans("Seattle, Washington") == []
    assert spans("Washington on Monday urged") == [("Washington", "USA")]


def test_turkey_the_bird():
    assert spans("a roast turkey for dinner") == []
    assert spans("Turkey offered to mediate") == [("Turkey", "TUR")]


def test_china_in_the_south_china_sea():
    assert spans("patrols in the South China Sea and the East China Sea") == []
    assert spans("China warned against interference") == [("China", "CHN")]


def test_america_versus_the_americas():
    assert spans("Latin America, South America, Central America, the Americas and Latin American leaders") == []
    assert spans("the Organization of American States and America") == [
        ("Organization of American States", "OAS"), ("America", "USA")]


def test_persons_are_not_mentions():
    assert spans("Putin, Guterres and Biden spoke") == []
    assert spans("Israel Katz, Israel's foreign minister, spoke") == [("Israel", "ISR")]
    assert spans("Victoria Nuland handed out cookies in Kiev") == [("Kiev", "UKR")]
    assert spans("Sofia Coppola's film opened; the government in Sofia said") == [("Sofia", "BGR")]


def test_places_named_after_countries_and_towns_abroad():
    assert spans("the army's wartime seat in Port Sudan") == []
    assert spans("Paris, Texas and Lebanon, Pennsylvania, but Tbilisi, Georgia") == [
        ("Tbilisi", "GEO"), ("Georgia", "GEO")]
    assert spans("not a party to the Rome Statute") == []


# ---------------------------------------------------------------- long texts
def test_line_breaks_inside_names_and_offsets_preserved():
    text = "officials of the United\nStates and the\u00a0UN"
    assert spans(text) == [("United\nStates", "USA"), ("UN", "UN")]


def test_offsets_survive_non_latin_and_typographic_text():
    text = "«Кремль» — Russia’s\tenvoy; São Tomé and Príncipe, Bogotá\r\nand the U.S. State Department"
    ms = find_mentions(text)
    assert [(m.text, m.entity) for m in ms] == [
        ("Russia", "RUS"), ("São Tomé and Príncipe", "STP"), ("Bogotá", "COL"), ("U.S.", "USA"),
        ("State Department", "USA")]
    assert all(text[m.start:m.end] == m.text for m in ms)


def test_long_text_finds_every_mention_at_its_offset():
    # Speed and linear cost are measured in pipelines/bench_mentions.py (docs/benchmarks.md),
    # not timed here.
    sentence = ("CARACAS, Jan 24 - Russia, China and Turkey backed Maduro, while the United States, "
                "Brazil and the Lima Group recognized Guaido and the EU urged new elections.\n")
    text = sentence * 20000
    found = find_mentions(text)
    assert len(found) == 20000 * 8
    assert all(text[m.start:m.end] == m.text for m in found)
    last = found[-8:]
    assert [m.entity for m in last] == ["VEN", "RUS", "CHN", "TUR", "USA", "BRA", "LIMA_GROUP", "EU"]
    assert last[0].start == 19999 * len(sentence)


# ---------------------------------------------------------------- names and codes
def test_entity_names_and_known_codes():
    assert entity_name("RUS") == "Russia"
    assert entity_name("UN") == "United Nations"
    assert entity_name("TUR") == "Turkey"
    assert entity_name("NOPE") == "NOPE"
    for code in ["UN", "EU", "OAS", "AU", "ECOWAS", "SADC", "IGAD", "EAC", "LIMA_GROUP", "ARAB_LEAGUE", "GCC",
                 "CARICOM", "MERCOSUR", "UNASUR", "ALBA", "CELAC", "ASEAN", "NATO", "OSCE", "G7", "G20",
                 "BRICS", "OPEC", "OIC", "COMMONWEALTH", "ICG", "LIBYA_CONTACT_GROUP", "XKX", "PSE", "VAT"]:
        assert is_known_entity(code), code
    assert not is_known_entity("XXX")
    assert not is_known_entity("IMF")
    assert "RUS" in known_entities()


def test_every_detected_entity_is_known_and_every_kind_valid():
    text = "the Kremlin, Moscow, Russian, Russia, the UN, Brussels"
    for m in find_mentions(text):
        assert is_known_entity(m.entity)
        assert m.kind in {"name", "demonym", "capital", "institution", "organisation"}


# ---------------------------------------------------------------- CLI
@pytest.fixture()
def cli():
    from diplostance.cli import app

    return app


def test_cli_table_and_json(cli, tmp_path):
    path = tmp_path / "article.txt"
    path.write_text("CARACAS, Jan 24 - Russia’s foreign ministry and the U.S.-backed opposition met the UN.\n",
                    encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(cli, ["mentions", str(path)])
    assert res.exit_code == 0, res.output
    for word in ["CARACAS", "VEN", "Venezuela", "Russia", "RUS", "U.S.", "United Nations", "organisation"]:
        assert word in res.output
    res = runner.invoke(cli, ["mentions", str(path), "--json"])
    assert res.exit_code == 0
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [r["entity"] for r in rows] == ["VEN", "RUS", "USA", "UN"]
    assert rows[1] == {"start": 18, "end": 24, "text": "Russia", "entity": "RUS", "name": "Russia", "kind": "name"}


def test_cli_stdin(cli):
    res = CliRunner().invoke(cli, ["mentions", "-", "--json"], input="Moscow and the Kremlin")
    assert res.exit_code == 0
    assert [json.loads(x)["entity"] for x in res.output.splitlines()] == ["RUS", "RUS"]


@pytest.mark.parametrize("content", [None, b"\x7fELF\x00\x01\x02binary", b"caf\xe9 Russia"])
def test_cli_bad_input_exits_2_without_traceback(cli, tmp_path, content):
    path = tmp_path / "in.txt"
    if content is not None:
        path.write_bytes(content)
    res = CliRunner().invoke(cli, ["mentions", str(path)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
