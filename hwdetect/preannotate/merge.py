"""A run into the folder of an earlier run: what the user changed or added there is kept, and so are earlier pages.

The output holds a record, `.preannotate.json`, of every file pre-annotation wrote (its sha256) and of the pages each
format holds (their boxes, so that the files listing every page can list earlier pages too). On the next run into
the folder, the new version is built beside it and the swap is atomic (hwdetect/files/atomic.py); into the new
version go, unchanged, every file of the old one that
- differs from what pre-annotation wrote (the user corrected it),
- pre-annotation did not write (the user's notes, an export, a page labelled by hand), or
- belongs to a page this run does not write again (pages of earlier runs).
Only files still byte for byte as pre-annotation wrote them are replaced by this run's version.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from hwdetect.cli import UserError, one_line
from hwdetect.files.atomic import MARKER, write_json
from hwdetect.paths import shown

RECORD = ".preannotate.json"
IMAGE_FOLDERS = {"yolo": "obj_train_data", "voc": "", "coco": "images/default", "label-studio": "images"}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _valid_page(page: object) -> bool:
    """A page of the record that can be listed again: a plain file name, its size and its boxes."""
    if not isinstance(page, dict):
        return False
    name, boxes = page.get("name"), page.get("boxes")
    return (isinstance(name, str) and name not in ("", ".", "..") and not name.startswith(".")
            and "/" not in name and "\\" not in name and isinstance(page.get("file"), str)
            and all(_number(page.get(k)) and page[k] > 0 for k in ("width", "height")) and isinstance(boxes, list)
            and all(isinstance(b, dict) and _number(b.get("score")) and isinstance(b.get("xyxy"), list)
                    and len(b["xyxy"]) == 4 and all(map(_number, b["xyxy"])) for b in boxes))


def read_record(out: Path) -> dict:
    """The record of an earlier run into `out`; empty when there is none (or it is unreadable: then every file
    there counts as the user's and is kept). Pages whose name is not a plain file name are left out."""
    try:
        record = json.loads((out / RECORD).read_text(encoding="utf-8"))
        files, pages = record["files"], record["pages"]
        if isinstance(files, dict) and isinstance(pages, dict) and all(isinstance(v, list) for v in pages.values()):
            valid = {fmt: [p for p in listed if _valid_page(p)] for fmt, listed in pages.items()}
            return {"files": files, "pages": valid}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return {"files": {}, "pages": {}}


def earlier_names(record: dict) -> dict[str, str]:
    """file → page name of every page an earlier run wrote, so that a page keeps its name from run to run."""
    return {p["file"]: p["name"] for listed in record["pages"].values() for p in listed}


def entries(folder: Path) -> list[str]:
    """Every file, link and empty folder under `folder`, as paths relative to it (the marker and record left out)."""
    if not folder.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = Path(dirpath).relative_to(folder)
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = sorted(d for d in dirnames if d not in links)
        found += [(rel / name).as_posix() for name in sorted(filenames + links)]
        if not dirnames and not filenames and not links and rel != Path("."):
            found.append(rel.as_posix())
    return [e for e in found if e not in (MARKER, RECORD)]


def earlier_pages(out: Path, record: dict, fmt: str, rewritten: set[str]) -> list[dict]:
    """The pages an earlier run wrote in `fmt` that this run does not write again and whose image is still there."""
    folder = out / fmt / IMAGE_FOLDERS[fmt]
    return [p for p in record["pages"].get(fmt, []) if p["name"] not in rewritten and (folder / p["name"]).is_file()]


def _carry(old: Path, new: Path) -> None:
    """Put the old file (or link, or empty folder) into the new version as it is: linked, else copied."""
    conflict = UserError(f"{shown(old)}: this run writes a folder where it is, or a file where it has a folder; "
                         f"move it out of {shown(old.parent)}, then run again")
    try:
        if old.is_dir() and not old.is_symlink():
            new.mkdir(parents=True, exist_ok=True)
            return
        if new.is_dir() and not new.is_symlink():
            raise conflict
        new.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise conflict from None
    if new.is_file():
        new.unlink()
    if old.is_symlink():
        os.symlink(os.readlink(old), new)
        return
    try:
        os.link(old, new)
    except OSError:
        shutil.copy2(old, new)


def merge(old: Path, new: Path, record: dict, pages: dict[str, list[dict]]) -> dict[str, list[str]]:
    """Carry into `new` (this run's output) what of `old` must be kept, and write the record of the result.

    `pages`: every page each format of the result lists. Returns the files kept, by why: changed, added, earlier."""
    written = set(entries(new))
    kept: dict[str, list[str]] = {"changed": [], "added": [], "earlier": []}
    files = {}
    for rel in entries(old):
        recorded = record["files"].get(rel)
        ours = recorded is not None and (old / rel).is_file() and not (old / rel).is_symlink() and \
            sha256(old / rel) == recorded
        if ours and rel in written:
            continue
        _carry(old / rel, new / rel)
        kept["earlier" if ours else "added" if recorded is None else "changed"].append(rel)
        if recorded is not None:
            files[rel] = recorded  # a corrected file stays the user's in later runs too
    for rel in written:
        if rel not in files and (new / rel).is_file():
            files[rel] = sha256(new / rel)
    write_json(new / RECORD, {"files": files, "pages": pages})
    return kept


def kept_line(kept: dict[str, list[str]], recorded: bool) -> str | None:
    """One line saying what of the earlier output was kept; None when nothing was. Without a record (an output of
    an older version), no file can be told to be pre-annotation's own: each is kept."""
    def some(names: list[str]) -> str:
        return ", ".join(one_line(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")

    def files(n: int) -> str:
        return f"{n} file{'s' if n != 1 else ''}"

    parts = []
    if kept["changed"]:
        parts.append(f"{files(len(kept['changed']))} you changed ({some(kept['changed'])}; left as you saved them, "
                     f"delete one to have it written again)")
    if kept["added"]:
        whose = "you added" if recorded else "the folder has no record of pre-annotation writing"
        parts.append(f"{files(len(kept['added']))} {whose} ({some(kept['added'])})")
    if kept["earlier"]:
        parts.append(f"{files(len(kept['earlier']))} of pages or formats this run did not write again")
    return f"kept from the earlier output: {', '.join(parts)}" if parts else None
