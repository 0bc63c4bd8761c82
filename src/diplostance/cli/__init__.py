"""The `diplostance` command line: every command is a thin call into the library."""

import typer

from diplostance.cli.data import data_app
from diplostance.cli.evaluate import evaluate
from diplostance.cli.predict import predict

app = typer.Typer(
    help="Stance of countries and organisations in contested-leadership crises.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.command("evaluate")(evaluate)
app.command("predict")(predict)

try:  # the mention detector is optional until issue 3 lands
    from diplostance.cli.mentions import mentions

    app.command("mentions", help="Find country and organisation mentions in a text.")(mentions)
except ImportError:  # pragma: no cover
    pass
