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


_python_show_warning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Model drift is a fact about the user's model, shown as one `warning:` line; other
    warnings go to Python's own display."""
    if issubclass(category, LibraryDriftWarning):
        warn(str(message))
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


@app.callback()
def main() -> None:
    """Stance of countries and organisations in contested-leadership crises."""
    warnings.showwarning = _show_warning  # the same function on every call: nothing accumulates
