"""`diplostance data validate|stats`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from diplostance.cli.common import console, err_console, fail
from diplostance.corpus import read_examples
from diplostance.crises import RegistryError, load_registry
from diplostance.paths import LABELED_DIR, REGISTRY_PATH

data_app = typer.Typer(help="Check and describe labeled data.", no_args_is_help=True)

RegistryOption = typer.Option(REGISTRY_PATH, "--registry", help="Crisis registry (YAML).")


def _registry(path: Path):
    try:
        return load_registry(path)
    except RegistryError as exc:
        fail(str(exc))


@data_app.command()
def validate(
    paths: list[Path] = typer.Argument(None, help="JSONL files or folders [default: data/labeled]"),
    registry: Path = RegistryOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print problems."),
) -> None:
    """Check files in the labeled format; print every problem as file:line and exit 1 on errors."""
    result = read_examples(paths or [LABELED_DIR], registry=_registry(registry))
    for problem in result.problems:
        (err_console if problem.level == "error" else console).print(str(problem), highlight=False, soft_wrap=True)
    n_errors = len(result.errors)
    n_warnings = len(result.problems) - n_errors
    if not quiet or n_errors:
        mentions = sum(len(e.mentions) for e in result.examples)
        status = "[red]FAILED[/]" if n_errors else "[green]OK[/]"
        console.print(
            f"{status}: {len(result.examples)} valid sentences, {mentions} mentions; {n_errors} error(s), {n_warnings} warning(s)"
        )
    if n_errors:
        raise typer.Exit(1)


@data_app.command()
def stats(
    paths: list[Path] = typer.Argument(None, help="JSONL files or folders [default: data/labeled]"),
    registry: Path = RegistryOption,
    as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
) -> None:
    """Counts by label, crisis, mention form, sentence size and split."""
    from diplostance.stats import corpus_stats

    reg = _registry(registry)
    result = read_examples(paths or [LABELED_DIR], registry=reg)
    if result.errors:
        fail(f"{len(result.errors)} error(s) in the data; run `diplostance data validate` to see them", 1)
    s = corpus_stats(result.examples, reg)
    if as_json:
        print(json.dumps(s, indent=2))
        return
    console.print(
        f"[bold]{s['sentences']}[/] sentences, [bold]{s['mentions']}[/] mentions, "
        f"[bold]{s['crises']}[/] crises ({len(s['reserved_crises'])} reserved for test_unseen)"
    )
    console.print(
        f"sentences with 2+ mentions: {s['multi_mention_share']:.1%}; mentions not a plain name: "
        f"{s['non_name_share']:.1%}; frequent entities (>= 20 mentions) with several labels: "
        f"{s['frequent_entities_with_several_labels']}/{s['frequent_entities']}"
    )
    for title, counts in (
        ("label", s["labels"]),
        ("mention form", s["kinds"]),
        ("mentions per sentence", s["mentions_per_sentence"]),
    ):
        table = Table(title=f"by {title}", title_justify="left")
        table.add_column(title)
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        total = sum(counts.values()) or 1
        for key, value in counts.items():
            table.add_row(str(key), str(value), f"{value / total:.1%}")
        console.print(table)
    table = Table(title="by split", title_justify="left")
    for col in ("split", "sentences", "mentions"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for name, v in s["splits"].items():
        table.add_row(name, str(v["sentences"]), str(v["mentions"]))
    console.print(table)
    table = Table(title="by crisis", title_justify="left")
    cols = ("sentences", "mentions", "supports-incumbent", "recognizes-challenger", "calls-for-dialogue", "none")
    table.add_column("crisis", no_wrap=True)
    for header in ("sentences", "mentions", "incumbent", "challenger", "dialogue", "none"):
        table.add_column(header, justify="right")
    for crisis, v in s["by_crisis"].items():
        name = f"{crisis} *" if crisis in s["reserved_crises"] else crisis
        table.add_row(name, *(str(v.get(c, 0)) for c in cols))
    console.print(table)
    console.print("* reserved for test_unseen: never used for training or validation")
