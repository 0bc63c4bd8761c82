"""`diplostance predict`: batch inference on articles."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from diplostance.cli.common import console, err_console, fail, is_tty
from diplostance.crises import RegistryError, load_registry
from diplostance.labels import LABELS
from diplostance.outputs import FORMATS
from diplostance.paths import REGISTRY_PATH
from diplostance.tracking import DEFAULT_MODEL_URI, ModelNotFound, load_pyfunc, model_version_of


def print_summary(summary, top: int = 25) -> None:
    """Entities by stance across all articles, most-covered first."""
    title = f"Entities by stance across articles (top {min(top, len(summary))} of {len(summary)})"
    table = Table(title=title, title_justify="left")
    table.add_column("entity", no_wrap=True)
    table.add_column("name", no_wrap=True, max_width=24, overflow="ellipsis")
    for header in ("incumbent", "challenger", "dialogue", "none", "articles"):
        table.add_column(header, justify="right")
    for r in summary.head(top).to_dict("records"):
        table.add_row(r["entity"], r["name"], *(str(r[label]) for label in LABELS), str(r["articles"]))
    console.print(table)


def predict(
    inputs: list[str] = typer.Argument(..., help="Files or folders (.txt .md .html .jsonl .csv), or - for stdin."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder."),
    crisis: str = typer.Option(None, "--crisis", "-c", help="Crisis id from the registry (e.g. venezuela-2019)."),
    incumbent: str = typer.Option(None, "--incumbent", help="Incumbent's name (for a crisis not in the registry)."),
    challenger: str = typer.Option(None, "--challenger", help="Challenger's name."),
    incumbent_alias: list[str] = typer.Option(None, "--incumbent-alias", help="Another name of the incumbent (repeatable)."),
    challenger_alias: list[str] = typer.Option(None, "--challenger-alias", help="Another name of the challenger (repeatable)."),
    country: str = typer.Option("", "--country", help="ISO3 code of the crisis country (its mentions are `none`)."),
    in_power: str = typer.Option(
        None, "--in-power", help="Side holding power: incumbent or challenger [default: the registry's, else from aliases]."
    ),
    model: str = typer.Option(DEFAULT_MODEL_URI, "--model", help="MLflow model URI."),
    fmt: str = typer.Option(None, "--format", "-f", help=f"Table format: {', '.join(FORMATS)} (default jsonl; spark: parquet)."),
    resume: bool = typer.Option(False, "--resume", help="Skip articles already done in OUTPUT by an earlier run."),
    given_mentions: bool = typer.Option(
        False, "--given-mentions", help="Inputs are rows in the labeled format: classify their spans."
    ),
    text_column: str = typer.Option("text", "--text-column", help="Text column of CSV inputs."),
    batch_articles: int = typer.Option(64, "--batch-articles", min=1, help="Articles classified together (memory stays flat)."),
    registry: Path = typer.Option(REGISTRY_PATH, "--registry", help="Crisis registry (YAML)."),
    progress: bool = typer.Option(None, "--progress/--no-progress", help="Progress bar [default: on a terminal]."),
    engine: str = typer.Option("local", "--engine", help="local (this process) or spark (a Spark job, docs/spark.md)."),
    spark_master: str = typer.Option(
        None, "--spark-master", help="Spark master URL for --engine spark (default local[2]; under spark-submit, its --master)."
    ),
) -> None:
    """Label every country/organisation mention of the input articles; write tables to OUTPUT."""
    from diplostance.batch import PredictOptions, run_predictions
    from diplostance.inference import RolesError, roles_from

    fmt = fmt or ("parquet" if engine == "spark" else "jsonl")
    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")
    if engine not in ("local", "spark"):
        fail(f"unknown engine {engine!r} (use local or spark)")
    if engine == "spark" and (fmt != "parquet" or resume or given_mentions):
        fail("--engine spark writes partitioned Parquet only and has no --resume or --given-mentions")
    try:
        reg = load_registry(registry)
    except RegistryError as exc:
        fail(str(exc))
    roles = None
    if in_power not in (None, "incumbent", "challenger"):
        fail(f"--in-power must be incumbent or challenger, not {in_power!r}")
    if in_power and (given_mentions or not (crisis or incumbent or challenger)):
        fail("--in-power goes with --crisis or --incumbent/--challenger (--given-mentions rows carry their own in_power)")
    if crisis or incumbent or challenger:
        try:
            roles = roles_from(
                crisis,
                reg,
                incumbent=incumbent,
                challenger=challenger,
                incumbent_aliases=incumbent_alias or (),
                challenger_aliases=challenger_alias or (),
                country=country,
                in_power=in_power,
            )
        except RolesError as exc:
            fail(str(exc))
    try:
        pyfunc = load_pyfunc(model)
    except ModelNotFound as exc:
        fail(str(exc))
    version = model_version_of(model)
    if given_mentions:
        _predict_given(inputs, output, pyfunc, reg)
        return
    opts = PredictOptions(
        inputs=inputs,
        out_dir=output,
        model_uri=model,
        fmt=fmt,
        roles=roles,
        registry=reg,
        resume=resume,
        batch_articles=batch_articles,
        text_column=text_column,
        progress=is_tty() if progress is None else progress,
    )
    try:
        if engine == "spark":
            result = _run_spark(opts, spark_master, version)
        else:
            result = run_predictions(opts, pyfunc.predict, version)
    except KeyboardInterrupt:
        err_console.print(f"interrupted: finished articles are kept in {output}/.journal; run again with --resume")
        raise typer.Exit(130) from None
    c = result.counts
    if len(result.summary):
        print_summary(result.summary)
    console.print(
        f"{c.get('articles_done', 0)} articles processed ({c.get('articles_resumed', 0)} resumed), "
        f"{c.get('articles_failed', 0)} failed, {c.get('sentences', 0)} sentences, {c.get('mentions', 0)} mentions -> {output}/"
    )
    if result.failed:
        err_console.print(f"[yellow]{result.failed} input(s) failed: see {result.outputs['errors']}[/]")
        raise typer.Exit(1)


def _predict_given(inputs: list[str], output: Path, pyfunc, registry) -> None:
    """Rows in the labeled format in, the same rows with predicted labels and scores out."""
    import json

    from diplostance.corpus import read_examples
    from diplostance.evaluation import predict_examples, write_predicted_rows

    if "-" in inputs:
        fail("--given-mentions reads files, not stdin")
    result = read_examples(inputs, registry=registry, require_labels=False)
    output.mkdir(parents=True, exist_ok=True)
    errors = [{"source": f"{p.path}:{p.line}", "reason": p.message} for p in result.errors]
    predicted = predict_examples(pyfunc.predict, result.examples, registry)
    write_predicted_rows(output / "predictions.jsonl", result.examples, predicted)
    tmp = output / ".errors.jsonl.tmp"
    tmp.write_text("".join(json.dumps(e) + "\n" for e in errors))
    tmp.replace(output / "errors.jsonl")
    console.print(f"{len(result.examples)} rows, {len(predicted)} mentions classified -> {output / 'predictions.jsonl'}")
    if errors:
        err_console.print(f"[yellow]{len(errors)} problem(s): see {output / 'errors.jsonl'}[/]")
        raise typer.Exit(1)


def _run_spark(opts, master: str | None, version: str):
    """The same run on Spark (diplostance.spark_engine); outputs are partitioned Parquet."""
    from rich.markup import escape

    from diplostance.spark_engine import SparkUnavailable, run_spark_predictions

    try:
        return run_spark_predictions(opts, master=master, model_version=version)
    except (SparkUnavailable, ModelNotFound) as exc:
        fail(escape(str(exc)))  # the message names the extra diplostance[spark]
    except KeyboardInterrupt:
        err_console.print("interrupted: the Spark job was cancelled; run it again (outputs are overwritten)")
        raise typer.Exit(130) from None
