"""A user's folder: the walk over it (hidden files and folders skipped: `.DS_Store`, `.git/`, `._IMG_1.jpg`, DVC's
`.dvc` files' temporaries), its text files read as UTF-8, and its file names shown on one line whatever bytes
they hold."""
from __future__ import annotations

import os
from pathlib import Path

from hwdetect import paths
from hwdetect.cli import UserError, one_line

def visible_files(root: Path) -> list[Path]:
    """Files under `root` (links to files followed), sorted, skipping any whose path below `root` has a part
    starting with a dot."""
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def leaves(path: Path, root: Path) -> bool:
    """Whether `path`, links followed, lies outside both `root` and the project (DVC may link files into its cache
    inside the project)."""
    target = path.resolve()
    return not any(target.is_relative_to(top.resolve()) for top in (root, paths.ROOT))


def display(path: Path | str) -> str:
    """A path for messages: relative to the project root when inside it, and printable on one line."""
    return one_line(paths.shown(Path(path)))


def read_text(path: Path, fix: str = "") -> str:
    """A text file the user gives, as UTF-8 (a byte order mark is accepted); UserError naming it when it is not."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise UserError(f"{display(path)}: is a folder, expected a file; {fix or 'replace it with the file'}") from None
    except OSError as err:
        raise UserError(f"{display(path)}: cannot be read ({os.strerror(err.errno) if err.errno else err}); "
                        f"{fix or 'check the file'}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise UserError(f"{display(path)}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x}); save it as "
                        f"UTF-8") from None
