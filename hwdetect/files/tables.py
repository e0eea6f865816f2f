"""CSV tables through the csv module, so file names with commas, quotes, newlines or any bytes travel intact.

Text is UTF-8; a name that is not valid UTF-8 (possible on Linux) keeps its bytes through `surrogateescape`.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable, Sequence

ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


def table_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def write_table(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> None:
    """A CSV summary of dict rows (a missing cell is left empty)."""
    with path.open("w", newline="", **ENCODING) as f:
        writer = csv.DictWriter(f, columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_table(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file with a header, as dicts (a missing cell is None)."""
    with path.open(newline="", **ENCODING) as f:
        return list(csv.DictReader(f))
