"""The Spark engine of `diplostance predict`: the same tables as :mod:`diplostance.batch`,
computed by a Spark job and written as Parquet partitioned by crisis.

What runs where:

* driver: reading the inputs (:func:`diplostance.articles.read_articles`, so errors are
  the local engine's) and resolving each article's roles
  (:func:`diplostance.inference.article_roles`); articles become rows of a DataFrame,
  in input order, sliced into partitions of whole articles;
* executors, pandas UDFs: sentence splitting and mention detection
  (``mapInPandas`` over :func:`diplostance.inference.mention_rows_of`), classification
  (``mlflow.pyfunc.spark_udf`` on the registered model, ``env_manager="local"``), and
  per-article stances (``applyInPandas`` grouped by blocks of whole articles, over
  :func:`diplostance.inference.article_stances`);
* driver again: ``errors.jsonl``, ``summary.csv``, ``stances.png`` and ``run.json``.

pyspark is an optional extra (``pip install 'diplostance[spark]'``): it is imported only
when the engine runs.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from diplostance.articles import Article, InputError, read_articles
from diplostance.batch import PredictOptions, RunResult, _no_mention_row
from diplostance.features import MODEL_INPUT
from diplostance.inference import (
    MENTION_COLUMNS,
    Roles,
    RolesError,
    article_roles,
    article_stances,
    mention_rows_of,
)
from diplostance.labels import LABELS
from diplostance.models.base import PROB_COLUMNS
from diplostance.outputs import atomic_write_text, write_run_file, write_summary

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[2]"
PARTITION_COLUMN = "crisis_partition"  # output folders: crisis_partition=<crisis id>
NO_CRISIS = "none"  # the folder of rows without a crisis id (roles given by name)
ARTICLES_PER_PARTITION = 1000  # upper bound; partitions come in multiples of the default parallelism
ARTICLES_PER_GROUP = 64  # articles aggregated per pandas call (the local engine's batch)
INSTALL_HINT = "the Spark engine needs pyspark: pip install 'diplostance[spark]'"

# Internal ordering columns, dropped before writing: the article's input position, and
# an entity's position inside its article (the order the local engine writes).
SEQ = "input_index"
ORDER = "entity_index"


def _names(schema: str) -> list[str]:
    """Column names of a DDL schema string."""
    return [f.strip().split(" ")[0].strip("`") for f in schema.split(", ")]


_STR_ARRAY = "array<string>"
ARTICLE_SCHEMA = (
    f"{SEQ} long, article_id string, title string, text string, crisis string, incumbent string, challenger string, "
    f"incumbent_aliases {_STR_ARRAY}, challenger_aliases {_STR_ARRAY}, crisis_country string, in_power string"
)
# mention_rows_of's columns (other_spans is in-process only), plus the article's title and
# sentence count; an article without mentions gives one row with sentence_index -1.
DETECTED_SCHEMA = (
    f"{SEQ} long, article_id string, title string, crisis string, sentence_index long, sentence string, "
    "start long, `end` long, article_start long, article_end long, mention string, entity string, entity_name string, "
    f"kind string, incumbent string, challenger string, incumbent_aliases {_STR_ARRAY}, challenger_aliases {_STR_ARRAY}, "
    "crisis_country string, in_power string, n_sentences long"
)
_DETECTED_COLUMNS = _names(DETECTED_SCHEMA)
PREDICTION_TYPE = "struct<label string, confidence double, " + ", ".join(f"{c} double" for c in PROB_COLUMNS) + ">"
ARTICLE_TABLE_SCHEMA = (
    f"{SEQ} long, {ORDER} long, article_id string, title string, crisis string, entity string, entity_name string, "
    "stance string, supporting_mentions long, mentions long, "
    + ", ".join(f"n_{label.replace('-', '_')} long" for label in LABELS)
    + ", confidence double, evidence_sentence string"
)


class SparkUnavailable(RuntimeError):
    """pyspark is not installed."""


def require_pyspark():
    """The pyspark module, or a clear error naming the extra to install."""
    try:
        import pyspark
    except ImportError as exc:
        raise SparkUnavailable(INSTALL_HINT) from exc
    return pyspark


def spark_session(master: str | None = DEFAULT_MASTER, app_name: str = "diplostance-predict"):
    """(session, created): the active session if there is one (a notebook, a test, or a job
    under spark-submit), else a new one on ``master``."""
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = SparkSession.builder.appName(app_name)
    # Under spark-submit the JVM is already up with its --master (it passes PYSPARK_GATEWAY_PORT).
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = master or DEFAULT_MASTER
        builder = builder.master(master)
        if master.startswith("local"):
            # executors of a local master are this interpreter's children: same virtualenv, loopback only
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    for key, value in {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
    }.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark, True


# --- executor side: pandas UDFs (plain top-level functions, pickled by reference) -----------


def _aliases(value) -> tuple[str, ...]:
    return () if value is None else tuple(str(v) for v in value)


def detect_mentions(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas: article rows -> mention rows, through the local engine's
    :func:`mention_rows_of` (the same splitter and detector)."""
    for batch in batches:
        out: list[dict] = []
        for r in batch.itertuples(index=False):
            article = Article(id=r.article_id, text=r.text, source="", title=r.title)
            roles = Roles(
                crisis=r.crisis,
                incumbent=r.incumbent,
                challenger=r.challenger,
                incumbent_aliases=_aliases(r.incumbent_aliases),
                challenger_aliases=_aliases(r.challenger_aliases),
                country=r.crisis_country,
                in_power=r.in_power or "",
            )
            rows, n_sentences = mention_rows_of(article, roles)
            extra = {SEQ: getattr(r, SEQ), "title": r.title}
            if not rows:
                out.append(
                    {c: None for c in _DETECTED_COLUMNS}
                    | extra
                    | {
                        "article_id": r.article_id,
                        "crisis": r.crisis,
                        "sentence_index": -1,
                        "n_sentences": n_sentences,
                    }
                )
                continue
            for i, row in enumerate(rows):
                out.append({c: row.get(c) for c in _DETECTED_COLUMNS} | extra | {"n_sentences": n_sentences if i == 0 else 0})
        yield pd.DataFrame(out, columns=_DETECTED_COLUMNS)


def stances_of_articles(mentions: pd.DataFrame) -> pd.DataFrame:
    """applyInPandas (grouped by block of articles): the local engine's
    :func:`article_stances` on the block's mentions in input and text order."""
    mentions = mentions.sort_values([SEQ, "sentence_index", "start"], kind="stable", ignore_index=True)
    table = article_stances(mentions, dict(zip(mentions["article_id"], mentions["title"], strict=True)))
    table[SEQ] = table["article_id"].map(dict(zip(mentions["article_id"], mentions[SEQ], strict=True)))
    table[ORDER] = table.groupby("article_id", sort=False).cumcount()
    return table[_names(ARTICLE_TABLE_SCHEMA)]


def no_mention_articles(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas: the article-table row of each article without any mention."""
    columns = _names(ARTICLE_TABLE_SCHEMA)
    for batch in batches:
        rows = [
            _no_mention_row(Article(r.article_id, "", "", r.title), Roles(r.crisis, "", "")) | {SEQ: getattr(r, SEQ), ORDER: 0}
            for r in batch.itertuples(index=False)
        ]
        yield pd.DataFrame(rows, columns=columns)


@contextmanager
def _quiet(*loggers: str):
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in loggers]
    for logger, _ in saved:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


# --- driver side ----------------------------------------------------------------------------


def read_inputs(opts: PredictOptions) -> tuple[pd.DataFrame, list[dict]]:
    """Articles (one row each, roles resolved, in input order) and input errors, as the
    local engine reports them."""
    rows, errors = [], []
    for item in read_articles(opts.inputs, text_column=opts.text_column):
        if isinstance(item, InputError):
            errors.append(item.as_dict())
            continue
        try:
            roles = article_roles(item, opts.roles, opts.registry)
        except RolesError as exc:
            errors.append({"id": item.id, "source": item.source, "reason": str(exc)})
            continue
        rows.append(
            {
                SEQ: len(rows),
                "article_id": item.id,
                "title": item.title,
                "text": item.text,
                "crisis": roles.crisis,
                "incumbent": roles.incumbent,
                "challenger": roles.challenger,
                "incumbent_aliases": list(roles.incumbent_aliases),
                "challenger_aliases": list(roles.challenger_aliases),
                "crisis_country": roles.country,
                "in_power": roles.in_power,
            }
        )
    return pd.DataFrame(rows, columns=_names(ARTICLE_SCHEMA)), errors


def partition_count(n_articles: int, parallelism: int, per_partition: int = ARTICLES_PER_PARTITION) -> int:
    """A multiple of the parallelism, with at most ``per_partition`` articles each."""
    if n_articles == 0:
        return 1
    return max(1, min(n_articles, parallelism * math.ceil(n_articles / (parallelism * per_partition))))


def articles_frame(spark, articles: pd.DataFrame, partitions: int):
    """The articles as a DataFrame of ``partitions`` slices in input order (no shuffle):
    createDataFrame makes one partition per Arrow batch."""
    conf = "spark.sql.execution.arrow.maxRecordsPerBatch"
    previous = spark.conf.get(conf)
    spark.conf.set(conf, str(max(1, math.ceil(len(articles) / partitions))))
    try:
        return spark.createDataFrame(articles, ARTICLE_SCHEMA)
    finally:
        spark.conf.set(conf, previous)


def _write_parquet(frame, path: Path, sort: list[str], *, empty: bool = False) -> None:
    """One folder per crisis (``crisis_partition=<id>``, ``none`` for rows without a crisis
    id); every file keeps all the table's columns, ``crisis`` included. Rows of a file are
    in input order: sorting each task's rows by the partition column first lets the writer
    keep that order; the ordering columns are then dropped. An empty table is one file
    with the schema and no rows (a partitioned write would leave no file to read)."""
    from pyspark.sql import functions as F

    if empty:
        frame.drop(SEQ, ORDER).coalesce(1).write.mode("overwrite").parquet(str(path))
        return

    crisis = F.col("crisis")
    folder = F.when(crisis.isNull() | (crisis == ""), F.lit(NO_CRISIS)).otherwise(crisis)
    frame = frame.withColumn(PARTITION_COLUMN, folder).sortWithinPartitions(PARTITION_COLUMN, *sort).drop(SEQ, ORDER)
    frame.write.mode("overwrite").partitionBy(PARTITION_COLUMN).parquet(str(path))


def read_partitioned(path: Path | str, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """A table written by the Spark engine, as pandas, files in path order (crisis by
    crisis); ``columns`` picks and orders the columns (default: all, with the folder's
    ``crisis_partition``). ``pd.read_parquet(path)`` reads it too."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(path), format="parquet", partitioning="hive", ignore_prefixes=["_", "."])
    fragments = sorted(dataset.get_fragments(), key=lambda f: f.path)
    if not fragments:
        return pd.DataFrame(columns=list(columns or ()))
    names = list(columns) if columns else None
    return pa.concat_tables([f.to_table(schema=dataset.schema, columns=names) for f in fragments]).to_pandas()


def _mention_columns(model_uri: str, model_version: str) -> list:
    """MENTION_COLUMNS from a detected row with its prediction struct ``_p``: offsets into
    the article, as :func:`diplostance.inference.classify` gives them."""
    from pyspark.sql import functions as F

    special = {
        "start": F.col("article_start"),
        "end": F.col("article_end"),
        "model_uri": F.lit(model_uri),
        "model_version": F.lit(model_version),
        **{c: F.col(f"_p.{c}") for c in ("label", "confidence", *PROB_COLUMNS)},
    }
    return [special.get(c, F.col(c)).alias(c) for c in MENTION_COLUMNS]


def _summary(spark_articles) -> pd.DataFrame:
    """Entities by stance across articles, as :func:`diplostance.batch.stance_summary` makes it."""
    from pyspark.sql import functions as F

    counts = (
        spark_articles.where(F.col("entity") != "")
        .groupBy("entity", "stance")
        .agg(F.count("*").alias("n"), F.max("entity_name").alias("name"))
        .toPandas()
    )
    columns = ["entity", "name", *LABELS, "articles"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    names = counts.groupby("entity")["name"].max()
    table = counts.pivot_table(index="entity", columns="stance", values="n", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=list(LABELS), fill_value=0).astype(int)
    table["articles"] = table.sum(axis=1)
    names = names.reindex(table.index).replace("", None)
    table.insert(0, "name", names.fillna(table.index.to_series()))
    frame = table.reset_index()[columns]
    return frame.sort_values(["articles", "entity"], ascending=[False, True], ignore_index=True)


def run_spark_predictions(
    opts: PredictOptions,
    *,
    master: str | None = DEFAULT_MASTER,
    model_version: str = "",
    spark=None,
    articles_per_partition: int = ARTICLES_PER_PARTITION,
) -> RunResult:
    """Process every input article with Spark; write the local engine's tables as
    partitioned Parquet (OUT/mentions/, OUT/articles/) plus errors.jsonl, summary.csv,
    stances.png and run.json. A model failure fails the job (Spark retries tasks); input
    problems are reported in errors.jsonl and the run goes on."""
    require_pyspark()
    import mlflow
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from diplostance.tracking import ModelNotFound, tracking_uri

    if opts.resume:
        raise ValueError("--resume is not supported by the Spark engine (a failed job is simply run again)")
    started_at = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    timings: Counter = Counter()
    out = Path(opts.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    articles, errors = read_inputs(opts)
    timings["read_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    created = False
    if spark is None:
        spark, created = spark_session(master)
    timings["spark_start_seconds"] = time.perf_counter() - t
    cached, saved_conf = [], {}
    try:
        t = time.perf_counter()
        mlflow.set_tracking_uri(tracking_uri())
        try:
            # the driver downloads the model once and ships it to the executors
            with _quiet("mlflow.pyfunc", "mlflow.models.flavor_backend_registry"):  # env_manager="local" is our choice
                predict = mlflow.pyfunc.spark_udf(spark, opts.model_uri, result_type=PREDICTION_TYPE, env_manager="local")
        except (mlflow.exceptions.MlflowException, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelNotFound(f"cannot load model {opts.model_uri} from {tracking_uri()}: {first}") from exc
        timings["model_seconds"] = time.perf_counter() - t

        parallelism = spark.sparkContext.defaultParallelism
        partitions = partition_count(len(articles), parallelism, articles_per_partition)
        # The model sees the other mentions of a sentence in the same batch (features.sentence_spans):
        # one Arrow batch per partition keeps every sentence's mentions together, as in the local engine.
        for key, value in {
            "spark.sql.execution.arrow.maxRecordsPerBatch": "-1",
            "spark.sql.shuffle.partitions": str(partitions),
        }.items():
            saved_conf.setdefault(key, spark.conf.get(key))  # a caller's session gets its settings back
            spark.conf.set(key, value)

        t = time.perf_counter()
        detected = articles_frame(spark, articles, partitions).mapInPandas(detect_mentions, DETECTED_SCHEMA)
        detected = detected.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(detected)
        is_mention = F.col("sentence_index") >= 0
        totals = detected.agg(
            F.sum("n_sentences").alias("sentences"), F.sum(F.when(is_mention, 1).otherwise(0)).alias("mentions")
        ).first()
        n_sentences, n_mentions = int(totals["sentences"] or 0), int(totals["mentions"] or 0)
        timings["detect_seconds"] = time.perf_counter() - t

        t = time.perf_counter()
        predicted = detected.where(is_mention).withColumn("_p", predict(F.struct(*[F.col(c) for c in MODEL_INPUT])))
        mentions = predicted.select(SEQ, "title", *_mention_columns(opts.model_uri, model_version))
        mentions = mentions.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(mentions)
        _write_parquet(mentions.drop("title"), out / "mentions", [SEQ, "sentence_index", "start"], empty=n_mentions == 0)
        timings["classify_seconds"] = time.perf_counter() - t

        t = time.perf_counter()
        # groups of whole articles, like the local engine's batches: a pandas call per article costs too much
        block = F.floor(F.col(SEQ) / ARTICLES_PER_GROUP).alias("article_block")
        with_mentions = mentions.groupBy(block).applyInPandas(stances_of_articles, ARTICLE_TABLE_SCHEMA)
        without = detected.where(~is_mention).select(SEQ, "article_id", "title", "crisis")
        table = with_mentions.unionByName(without.mapInPandas(no_mention_articles, ARTICLE_TABLE_SCHEMA))
        table = table.persist(StorageLevel.MEMORY_AND_DISK)  # the range partitioner samples it, then shuffles it
        cached.append(table)
        # one range of articles per output partition, in input order (the groupBy shuffled them)
        _write_parquet(table.repartitionByRange(partitions, SEQ), out / "articles", [SEQ, ORDER], empty=articles.empty)
        summary = _summary(table)
        timings["articles_seconds"] = time.perf_counter() - t
        spark_version, spark_master = spark.version, spark.sparkContext.master
    finally:
        for frame in cached:
            frame.unpersist()
        for key, value in saved_conf.items():
            spark.conf.set(key, value)
        if created:
            spark.stop()

    t = time.perf_counter()
    errors_path = out / "errors.jsonl"
    atomic_write_text(errors_path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors))
    written = write_summary(summary, out)
    timings["write_seconds"] = time.perf_counter() - t
    timings["total_seconds"] = time.perf_counter() - t0

    counts = {
        "articles_done": len(articles),
        "articles_failed": len(errors),
        "sentences": n_sentences,
        "mentions": n_mentions,
        "articles_in_output": len(articles),
    }
    outputs = {
        "mentions": str(out / "mentions"),
        "articles": str(out / "articles"),
        "errors": str(errors_path),
        **written,
    }
    run_file = write_run_file(
        out,
        started_at=started_at,
        model_uri=opts.model_uri,
        model_version=model_version,
        counts=counts,
        timings=timings,
        inputs=opts.inputs,
        outputs=outputs,
        engine="spark",
        spark={"master": spark_master, "version": spark_version, "partitions": partitions},
        format="parquet",
        layout=f"OUT/mentions/ and OUT/articles/: Parquet datasets, one {PARTITION_COLUMN}=<crisis> folder per crisis",
        resumed=False,
    )
    return RunResult(counts, outputs, summary, run_file)
