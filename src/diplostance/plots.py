"""One way to draw a chart to a PNG file: the Agg backend (no display), one figure, saved
and closed even when drawing fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def png(path: Path, size: tuple[float, float], dpi: int = 110) -> Iterator:
    """`with png(path, (w, h)) as ax:` draw on ax; the file is written on exit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    try:
        yield ax
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
