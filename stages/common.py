"""Helpers shared by every stage: user errors, atomic outputs, JSON, logging."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("pipeline")


class UserError(Exception):
    """A mistake the user can fix; printed as one line, never as a traceback."""


def cli(main: Callable[[], None]) -> None:
    """Run a stage's main(): user errors become one line on stderr and exit code 2."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    os.chdir(ROOT)  # outputs and the paths recorded in them are relative to the project root
    try:
        main()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Yield a temporary sibling folder that replaces `path` only if the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    remove(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        remove(tmp)
        raise
    remove(path)
    tmp.rename(path)


def write_atomic(path: Path | str, data: bytes | str) -> None:
    """Write a file through a temporary sibling so readers never see half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def write_json(path: Path | str, obj: object) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def shown(path: Path) -> str:
    """A path as the user knows it: relative to the project root when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def rounded(metrics: dict[str, float], digits: int = 5) -> dict[str, float]:
    return {k: round(float(v), digits) for k, v in metrics.items()}
