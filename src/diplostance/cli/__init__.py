"""The `diplostance` command line: every command is a thin call into the library."""

import warnings

import typer

from diplostance.cli.common import warn
from diplostance.cli.data import data_app
from diplostance.cli.evaluate import evaluate
from diplostance.cli.mentions import mentions
from diplostance.cli.predict import predict
from diplostance.models.base import LibraryDriftWarning

app = typer.Typer(
    help="Stance of countries and organisations in contested-leadership crises.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.command("evaluate")(evaluate)
app.command("predict")(predict)
app.command("mentions", help="Find country and organisation mentions in a text.")(mentions)


@app.callback()
def main() -> None:
    """Stance of countries and organisations in contested-leadership crises."""
    show = warnings.showwarning

    def one_line(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, LibraryDriftWarning):
            warn(str(message))  # a user-facing fact about the model, not a code location
        else:
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = one_line
