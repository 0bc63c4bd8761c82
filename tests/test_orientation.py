"""Orientation by power: which side holds power, and models that read crises from it."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import row, write_jsonl
from diplostance.corpus import read_examples
from diplostance.crises import RegistryError, parse_registry
from diplostance.evaluation import mention_table
from diplostance.features import InputError, normalize_mentions
from diplostance.inference import RolesError, article_roles, roles_from
from diplostance.models import create_model
from diplostance.models.base import load_model
from diplostance.orientation import exchange_probs, exchange_sides, parse_in_power, side_in_power


def test_in_power_values_are_parsed_alike_everywhere():
    assert [parse_in_power(v) for v in (None, "", " Challenger ", "incumbent", float("nan"))] == [
        "", "", "challenger", "incumbent", ""]
    for bad in ("rebels", False, 0, ["challenger"]):
        with pytest.raises(ValueError, match="in_power must be incumbent or challenger"):
            parse_in_power(bad)


def test_side_in_power_given_or_read_from_the_aliases():
    assert side_in_power("challenger", ["Maduro"], ["Guaido"]) == "challenger"
    assert side_in_power("", ["Zelaya", "the ousted president"], ["Micheletti", "the de facto government"]) == "challenger"
    assert side_in_power("", ["the junta"], ["Bazoum", "the deposed president"]) == "incumbent"
    # nobody described as ousted, or both: the incumbent
    assert side_in_power("", ["Maduro"], ["Guaido"]) == "incumbent"
    assert side_in_power("", ["the exiled king"], ["the government in exile"]) == "incumbent"


def _table(in_power):
    return pd.DataFrame(
        {
            "sentence": ["Peru recalled its envoy from Tegucigalpa.", "Chile backed Zelaya."],
            "start": [0, 0],
            "end": [4, 5],
            "incumbent": ["Manuel Zelaya"] * 2,
            "challenger": ["Roberto Micheletti"] * 2,
            "incumbent_aliases": [["Zelaya"]] * 2,
            "challenger_aliases": [["the de facto government"]] * 2,
            "in_power": in_power,
        }
    )


def test_exchange_sides_turns_only_challenger_held_rows():
    df, flip = exchange_sides(normalize_mentions(_table(["challenger", "incumbent"])))
    assert flip.tolist() == [True, False]
    assert df.loc[0, "incumbent"] == "Roberto Micheletti" and df.loc[0, "challenger_aliases"] == ["Zelaya"]
    assert df.loc[1, "incumbent"] == "Manuel Zelaya" and df.loc[1, "incumbent_aliases"] == ["Zelaya"]
    assert df["in_power"].tolist() == ["incumbent", "incumbent"]
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.7, 0.1, 0.1, 0.1]])
    turned = exchange_probs(probs, flip)
    assert turned[0].tolist() == [0.1, 0.7, 0.1, 0.1] and turned[1].tolist() == probs[1].tolist()


def test_in_power_is_read_from_aliases_and_checked():
    df = normalize_mentions(_table([None, ""]).assign(incumbent_aliases=[["the ousted president"]] * 2))
    assert df["in_power"].tolist() == ["challenger", "challenger"]
    with pytest.raises(InputError, match="row 1: in_power must be"):
        normalize_mentions(_table(["incumbent", "opposition"]))


# A crisis held by its incumbent teaches "suspended the country" = against the side in
# power; in a crisis held by the challenger the same words back the incumbent.
HELD = [
    ("Peru suspended the country from the bloc.", "recognizes-challenger"),
    ("Chile suspended the country from the group.", "recognizes-challenger"),
    ("Russia praised the government for its restraint.", "supports-incumbent"),
    ("China praised the government for its calm.", "supports-incumbent"),
    ("Norway urged dialogue between the two camps.", "calls-for-dialogue"),
    ("Sweden urged talks between the two camps.", "calls-for-dialogue"),
    ("Japan reported the weather.", "none"),
    ("Italy reported the score.", "none"),
]


def _train_table(in_power: str) -> pd.DataFrame:
    rows = [
        {"sentence": s, "start": 0, "end": s.index(" "), "incumbent": "Nicolas Maduro", "challenger": "Juan Guaido",
         "in_power": in_power, "label": label}
        for s, label in HELD
    ]
    return pd.DataFrame(rows)


QUERY = "Brazil suspended the country from the union."


def _query(in_power: list[str]) -> pd.DataFrame:
    n = len(in_power)
    return pd.DataFrame({"sentence": [QUERY] * n, "start": [0] * n, "end": [6] * n, "incumbent": ["Manuel Zelaya"] * n,
                         "challenger": ["Roberto Micheletti"] * n, "in_power": in_power})


def test_a_model_reads_a_challenger_held_crisis_turned_round(tmp_path):
    train = _train_table("incumbent")
    model = create_model("tfidf", {"C": 50.0}).fit(train, list(train["label"]))
    query = _query(["incumbent", "challenger"])
    assert model.predict(query)["label"].tolist() == ["recognizes-challenger", "supports-incumbent"]
    # saved and loaded, it turns the same rows
    loaded = load_model(model.save(tmp_path / "m"))
    assert loaded.predict(query)["label"].tolist() == ["recognizes-challenger", "supports-incumbent"]
    # without orientation both rows read alike
    plain = create_model("tfidf", {"C": 50.0, "orient_by_power": False}).fit(train, list(train["label"]))
    assert plain.predict(query)["label"].tolist() == ["recognizes-challenger", "recognizes-challenger"]


def test_training_on_a_challenger_held_crisis_learns_it_turned_round():
    train = _train_table("challenger")
    model = create_model("tfidf", {"C": 50.0}).fit(train, list(train["label"]))
    # its own rows come back in the data's roles ...
    assert model.predict(train.drop(columns="label"))["label"].tolist() == [label for _, label in HELD]
    # ... and what it learned is about the side in power: here "suspended the country"
    # went with the challenger, who held power, so in a crisis held by the incumbent the
    # same words go with the incumbent
    assert model.predict(_query(["challenger", "incumbent"]))["label"].tolist() == [
        "recognizes-challenger", "supports-incumbent"]


def test_a_model_saved_before_orientation_loads_without_it(tmp_path):
    train = _train_table("incumbent")
    folder = create_model("tfidf", {}).fit(train, list(train["label"])).save(tmp_path / "m")
    meta_path = folder / "diplostance-model.json"
    meta = json.loads(meta_path.read_text())
    del meta["config"]["orient_by_power"]
    meta_path.write_text(json.dumps(meta))
    model = load_model(folder)
    assert model.config["orient_by_power"] is False
    assert model.predict(_query(["incumbent", "challenger"]))["label"].nunique() == 1


def test_registry_and_rows_carry_in_power(tmp_path, registry):
    reg = parse_registry(
        {"crises": [{"id": "honduras-2009", "country": "HND", "incumbent": {"name": "Manuel Zelaya"},
                     "challenger": {"name": "Roberto Micheletti"}, "in_power": "challenger"}]}
    )
    assert reg.get("honduras-2009").in_power == "challenger"
    with pytest.raises(RegistryError, match="in_power"):
        parse_registry({"crises": [{"id": "x", "incumbent": {"name": "A"}, "challenger": {"name": "B"}, "in_power": "army"}]})
    good = row("v-1", "Peru backed Guaido.", [("Peru", "PER", "recognizes-challenger")], in_power="challenger")
    bad = row("v-2", "Peru backed Guaido.", [("Peru", "PER", "recognizes-challenger")], in_power="both")
    path = write_jsonl(tmp_path / "rows.jsonl", [good, bad])
    result = read_examples([path], registry=registry)
    assert any(str(p).startswith(f"{path}:2: error:") and "in_power must be" in str(p) for p in result.problems)
    table = mention_table(result.examples, registry)
    assert table["in_power"].tolist() == ["challenger"]


HONDURAS = {"crises": [{"id": "honduras-2009", "country": "HND", "incumbent": {"name": "Manuel Zelaya"},
                        "challenger": {"name": "Roberto Micheletti"}, "in_power": "challenger"}]}


def test_row_field_wins_over_registry_which_wins_over_aliases(tmp_path):
    reg = parse_registry(HONDURAS)
    sentence = "Peru recalled its ambassador."
    rows = [
        {"id": "h-1", "crisis": "honduras-2009", "sentence": sentence, "mentions": []},
        {"id": "h-2", "crisis": "honduras-2009", "sentence": sentence, "mentions": [], "in_power": "incumbent"},
        {"id": "x-1", "crisis": "elsewhere-2030", "incumbent": "A B", "challenger": "C D", "sentence": sentence,
         "mentions": [], "incumbent_aliases": ["the ousted president"]},
    ]
    for r in rows:
        r["mentions"] = [{"text": "Peru", "start": 0, "end": 4, "entity": "PER", "label": "recognizes-challenger"}]
    result = read_examples([write_jsonl(tmp_path / "rows.jsonl", rows)], registry=reg)
    assert not [p for p in result.problems if p.level == "error"]
    table = normalize_mentions(mention_table(result.examples, reg))
    assert table["in_power"].tolist() == ["challenger", "incumbent", "challenger"]


def test_articles_and_command_line_roles_carry_in_power():
    reg = parse_registry(HONDURAS)
    default = roles_from("honduras-2009", reg)
    assert default.in_power == "challenger"
    assert roles_from("honduras-2009", reg, in_power="incumbent").in_power == "incumbent"
    with pytest.raises(RolesError, match="in_power must be"):
        roles_from(None, reg, incumbent="A", challenger="B", in_power="army")
    from diplostance.articles import Article

    # an article that only says who holds power keeps the command line's roles otherwise
    own = article_roles(Article("a", "text", "src", crisis={"in_power": "incumbent"}), default, reg)
    assert (own.incumbent, own.in_power) == ("Manuel Zelaya", "incumbent")
    assert article_roles(Article("b", "text", "src"), default, reg).in_power == "challenger"
    with pytest.raises(RolesError, match="in_power must be"):
        article_roles(Article("c", "text", "src", crisis={"in_power": "rebels"}), default, reg)


def test_cli_in_power_is_checked(tmp_path):
    from typer.testing import CliRunner

    from diplostance.cli import app

    def run(*args):
        return CliRunner().invoke(app, ["predict", "-", "-o", str(tmp_path), *args], input="Peru spoke.")

    bad = run("--crisis", "venezuela-2019", "--in-power", "army")
    assert bad.exit_code != 0 and "--in-power must be incumbent or challenger" in bad.output
    alone = run("--in-power", "challenger")
    assert alone.exit_code != 0 and "--in-power goes with --crisis" in alone.output
