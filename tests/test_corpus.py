import json

from typer.testing import CliRunner

from conftest import row, write_jsonl
from diplostance.cli import app
from diplostance.corpus import load_examples, read_examples
from diplostance.crises import load_registry
from diplostance.paths import LABELED_DIR, REGISTRY_PATH
from diplostance.splits import split_examples, to_datasets

GOOD = [
    row(
        "v-1",
        "Russia and Cuba condemned what they called a coup, while Canada recognized the opposition leader.",
        [
            ("Russia", "RUS", "supports-incumbent"),
            ("Cuba", "CUB", "supports-incumbent"),
            ("Canada", "CAN", "recognizes-challenger"),
        ],
    ),
    row(
        "v-2",
        "Mexico and Uruguay urged talks between Maduro and Guaido.",
        [("Mexico", "MEX", "calls-for-dialogue"), ("Uruguay", "URY", "calls-for-dialogue")],
    ),
    row("m-1", "ASEAN urged the junta to talk to the NUG.", [("ASEAN", "ASEAN", "calls-for-dialogue")], crisis="myanmar-2021"),
]


def test_valid_file_reads_every_row(tmp_path, registry):
    path = write_jsonl(tmp_path / "good.jsonl", GOOD)
    result = read_examples([path], registry=registry)
    assert result.errors == []
    assert [e.id for e in result.examples] == ["v-1", "v-2", "m-1"]
    first = result.examples[0]
    assert [m.text for m in first.mentions] == ["Russia", "Cuba", "Canada"]
    assert first.source == f"{path}:1"


def test_every_problem_is_reported_with_file_and_line(tmp_path, registry):
    bad_offsets = row("b-2", "Russia backed Maduro.", [("Russia", "RUS", "supports-incumbent")])
    bad_offsets["mentions"][0]["start"] = 1
    overlapping = row("b-3", "Russia backed Maduro.", [("Russia", "RUS", "supports-incumbent")])
    overlapping["mentions"].append({"text": "ussia", "start": 1, "end": 6, "entity": "RUS", "label": "none"})
    bad_label = row("b-4", "Peru backed Guaido.", [("Peru", "PER", "backs-challenger")])
    bad_code = row("b-5", "Peru backed Guaido.", [("Peru", "peru", "recognizes-challenger")])
    no_roles = row("b-6", "Peru backed the opposition.", [("Peru", "PER", "recognizes-challenger")], crisis="unknown-2030")
    del no_roles["incumbent"], no_roles["challenger"]
    unknown_code = row("b-7", "Atlantis backed Guaido.", [("Atlantis", "ATL", "recognizes-challenger")])
    lines = [GOOD[0], "{not json", bad_offsets, overlapping, bad_label, bad_code, no_roles, GOOD[0], unknown_code]
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    result = read_examples([path], registry=registry)
    messages = [str(p) for p in result.problems]
    expected = {
        2: "bad JSON",
        3: "sentence[1:6] is 'ussia', not 'Russia'",
        4: "overlapping mentions",
        5: "unknown label 'backs-challenger'",
        6: "malformed entity code 'peru'",
        7: "missing role 'incumbent'",
        8: "duplicate id 'v-1' (first at",
    }
    for line, text in expected.items():
        assert any(m.startswith(f"{path}:{line}: error:") and text in m for m in messages), (line, messages)
    assert any(m.startswith(f"{path}:9: warning: ") and "unknown entity code 'ATL'" in m for m in messages)
    # the unknown code is only a warning: the row is kept
    assert [e.id for e in result.examples] == ["v-1", "b-7"]


def test_known_crisis_supplies_missing_roles(tmp_path, registry):
    r = row("k-1", "Peru backed Guaido.", [("Peru", "PER", "recognizes-challenger")])
    del r["incumbent"], r["challenger"]
    [example] = load_examples([write_jsonl(tmp_path / "k.jsonl", [r])], registry=registry)
    assert (example.incumbent, example.challenger) == ("Nicolas Maduro", "Juan Guaido")


def test_cli_validate_fails_on_broken_file(tmp_path, registry_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD[0], "[1, 2", GOOD[1]])
    result = CliRunner().invoke(app, ["data", "validate", str(path), "--registry", str(registry_path)])
    assert result.exit_code == 1
    assert f"{path}:2: error: bad JSON" in result.output
    assert "Traceback" not in result.output


def test_cli_validate_passes_on_good_file_and_reports_missing_file(tmp_path, registry_path):
    path = write_jsonl(tmp_path / "good.jsonl", GOOD)
    ok = CliRunner().invoke(app, ["data", "validate", str(path), "--registry", str(registry_path)])
    assert ok.exit_code == 0, ok.output
    assert "3 valid sentences, 6 mentions" in ok.output
    missing = CliRunner().invoke(app, ["data", "validate", str(tmp_path / "nope.jsonl"), "--registry", str(registry_path)])
    assert missing.exit_code == 1
    assert "no such file" in missing.output


def test_non_utf8_file_is_an_error_not_a_crash(tmp_path, registry):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(GOOD[0]).encode() + b"\n" + '{"id": "caf\u00e9"}'.encode("latin-1") + b"\n")
    result = read_examples([path], registry=registry)
    assert any("not UTF-8" in p.message for p in result.errors)


def test_splits_are_deterministic_and_reserved_crises_are_test_only(tmp_path, registry):
    rows = [row(f"v-{i}", f"Peru number {i} backed Guaido.", [("Peru", "PER", "recognizes-challenger")]) for i in range(200)]
    rows += [
        row(f"m-{i}", f"Japan number {i} urged talks.", [("Japan", "JPN", "calls-for-dialogue")], crisis="myanmar-2021")
        for i in range(20)
    ]
    examples = load_examples([write_jsonl(tmp_path / "s.jsonl", rows)], registry=registry)
    parts = split_examples(examples, registry)
    again = split_examples(list(reversed(examples)), registry)
    assert {k: sorted(e.id for e in v) for k, v in parts.items()} == {k: sorted(e.id for e in v) for k, v in again.items()}
    assert {e.crisis for e in parts["test_unseen"]} == {"myanmar-2021"}
    assert all(e.crisis != "myanmar-2021" for name in ("train", "validation", "test_seen") for e in parts[name])
    assert 120 < len(parts["train"]) < 180 and parts["validation"] and parts["test_seen"]


def test_mention_level_dataset_keeps_sentences_whole(tmp_path, registry):
    examples = load_examples([write_jsonl(tmp_path / "g.jsonl", GOOD)], registry=registry)
    ds = to_datasets(examples, registry)
    assert set(ds) == {"train", "validation", "test_seen", "test_unseen"}
    assert sum(len(d) for d in ds.values()) == 6
    assert len(ds["test_unseen"]) == 1 and ds["test_unseen"][0]["entity"] == "ASEAN"
    for d in ds.values():
        for r in d:
            assert r["sentence"][r["start"] : r["end"]] == r["text"]
    by_sentence = {}
    for name, d in ds.items():
        for r in d:
            by_sentence.setdefault(r["sentence_id"], set()).add(name)
    assert all(len(v) == 1 for v in by_sentence.values())


def test_bundled_corpus_is_valid_and_reserves_the_five_crises():
    registry = load_registry(REGISTRY_PATH)
    result = read_examples([LABELED_DIR], registry=registry)
    assert result.errors == []
    assert registry.reserved == {"myanmar-2021", "sudan-2023", "madagascar-2009", "honduras-2009", "yemen-2015"}
    assert {e.crisis for e in result.examples} >= registry.reserved
