"""Names of the pages pre-annotation writes: one per page, never two alike, in a format the `custom` stage reads.

A page is named after its path under --source, folders joined by `__` (batch/p1.jpg → batch__p1.jpg). Its label
files take the name without the extension (batch__p1.xml, batch__p1.txt), so names must differ in more than the
extension, and in more than letter case (macOS and Windows disks ignore case). Pages that would share a name are told
apart by `_2`, `_3`, ... (in the order of their paths; a file named exactly like its page keeps the name), and a
page keeps the name it was given by an earlier run into the same folder. A name that the `custom` stage or the
tools read as something else (classes.txt, train.txt, notes.json, README...) gets `page_` in front.
"""
from __future__ import annotations

from pathlib import Path

from hwdetect.sources.custom.formats import NOT_LABELS
from hwdetect.sources.images import IMAGE_SUFFIXES

# Stems of the files every format writes beside its pages, and of the files a user keeps there.
WRITTEN_STEMS = {"classes", "obj", "train", "tasks", "label_config", "instances_default", "preannotations", "notes"}


def readable_name(rel: str) -> str:
    """The page name of a single-page file: its path with folders joined by `__`; `.png` appended when the `custom`
    stage does not read its extension (`.gif`, `.jfif`, `.ppm`, ...: the page is then written as PNG)."""
    name = rel.replace("/", "__")
    return name if Path(name).suffix.lower() in IMAGE_SUFFIXES else f"{name}.png"


def reserved(stem: str) -> bool:
    return stem.casefold() in WRITTEN_STEMS or any(NOT_LABELS.fullmatch(f"{stem}{ext}") for ext in (".txt", ".xml",
                                                                                                    ".json"))


def _key(name: str) -> str:
    return Path(name).stem.casefold()


def assign_names(pages: list[dict], earlier: dict[str, str]) -> None:
    """Set each page's "name" from its proposed one so that no two pages, and no page and a page of an earlier run,
    share a label name; pages listed in `earlier` (file → name) keep that name."""
    used = {_key(n) for n in earlier.values()}
    for page in pages:
        if page["file"] in earlier:
            page["name"] = earlier[page["file"]]
    fresh = sorted((p for p in pages if p["file"] not in earlier), key=lambda p: (p["name"] != p["file"], p["file"]))
    for page in fresh:
        stem, suffix = Path(page["name"]).stem, Path(page["name"]).suffix
        if reserved(stem):
            stem = f"page_{stem}"
        candidate, number = stem, 2
        while candidate.casefold() in used or reserved(candidate):
            candidate, number = f"{stem}_{number}", number + 1
        used.add(candidate.casefold())
        page["name"] = f"{candidate}{suffix}"
