"""Outputs replaced safely: readers (and DVC) see the old version or the new one, never half of either, and a
command never replaces a folder it did not write.

A folder output carries a marker file naming the command that wrote it. `atomic_dir` builds the new version in a
hidden sibling, then swaps: old aside, new in, old deleted. A kill at any instant leaves the old or the new version
in place; the next run of the command finishes or rolls back the swap before it starts (`recover`).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Iterable, Iterator

from hwdetect.cli import UserError
from hwdetect.paths import ROOT, shown

MARKER = ".hwdetect-output"
PROJECT_FOLDERS = tuple(ROOT / name for name in ("data", "data/sources", "data/selected", "models", "reports",
                                                   "metrics", "runs", "stages", "hwdetect", "tests", "bench"))


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def command_name() -> str:
    """The running command as `python -m` names it (stages.split, hwdetect.predict), else the script's name."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec.name.removesuffix(".__main__") if spec else Path(sys.argv[0]).stem


def owner(folder: Path) -> str | None:
    """The command that wrote `folder`, from its marker; None when it has none."""
    try:
        return (folder / MARKER).read_text(encoding="utf-8").split("\n")[0].removeprefix("written by ").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _siblings(path: Path) -> tuple[Path, Path]:
    return path.with_name(f".{path.name}.tmp"), path.with_name(f".{path.name}.old")


def _remove_output(folder: Path) -> None:
    """Delete a folder this command wrote, its marker last: a kill half-way leaves it still recognisably ours."""
    if not folder.exists():
        return
    for entry in folder.iterdir():
        if entry.name != MARKER:
            remove(entry)
    remove(folder / MARKER)
    folder.rmdir()


def _ours_or_empty(folder: Path, command: str) -> bool:
    return folder.is_dir() and not folder.is_symlink() and (owner(folder) == command or not any(folder.iterdir()))


def recover(path: Path, command: str) -> None:
    """Finish or roll back a swap that a kill interrupted: the old version comes back unless the new one is in."""
    tmp, old = _siblings(path)
    for leftover in (tmp, old):
        if leftover.exists() and not _ours_or_empty(leftover, command):
            raise UserError(f"{shown(leftover)}: left over from an interrupted run but not written by {command}; "
                            f"move it away, then run again")
    if old.exists():
        if path.exists():
            _remove_output(old)
        else:
            old.rename(path)
    _remove_output(tmp)


def check_location(path: Path, command: str, inputs: Iterable[Path] = ()) -> None:
    """Refuse an output folder that is a project folder (or holds the project), or holds or lies inside an input."""
    real = path.resolve()
    if real == ROOT or ROOT.is_relative_to(real) or real in PROJECT_FOLDERS or real == Path.home().resolve():
        raise UserError(f"{shown(path)}: is a folder of the project (or holds it), never an output; choose a new "
                        f"folder such as runs/{command.split('.')[-1]}")
    for given in inputs:
        given = Path(given).resolve()
        if real == given or real.is_relative_to(given) or given.is_relative_to(real):
            raise UserError(f"{shown(path)}: holds or lies inside the input {shown(given)}; choose an output folder "
                            f"outside it")


def check_owner(path: Path, command: str) -> None:
    """Refuse an existing output that is not a folder, or holds anything but this command's own earlier output."""
    if path.is_symlink() or path.exists() and not path.is_dir():
        raise UserError(f"{shown(path)}: exists and is not a folder (a file or a link); choose a new output folder")
    if path.exists() and not _ours_or_empty(path, command):
        found = owner(path)
        by = f"was written by {found}" if found else f"was not written by {command} (it has no {MARKER} marker)"
        raise UserError(f"{shown(path)}: exists and {by}; choose a new folder, or move it away first")


def ready_output(path: Path, command: str, inputs: Iterable[Path] = ()) -> None:
    """Refuse a folder this command may not replace; finish or roll back an interrupted swap of it first."""
    check_location(path, command, inputs)
    recover(path, command)
    check_owner(path, command)


@contextlib.contextmanager
def atomic_dir(path: Path | str, inputs: Iterable[Path] = (), command: str | None = None) -> Iterator[Path]:
    """Yield a hidden sibling folder that replaces `path` only if the block succeeds (see the module docstring)."""
    path, command = Path(path).absolute(), command or command_name()
    tmp, old = _siblings(path)
    ready_output(path, command, inputs)
    tmp.mkdir(parents=True)
    (tmp / MARKER).write_text(f"written by {command}\nreplaced whole by its next run; delete the folder freely\n",
                              encoding="utf-8")
    try:
        yield tmp
    except BaseException:
        _remove_output(tmp)
        raise
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    _remove_output(old)


def write_atomic(path: Path | str, data: bytes | str) -> None:
    """Write a file through a flushed temporary sibling, so readers never see half of it, even after a power cut."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        f.write(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: Path | str, obj: object) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
