"""Rebuild the real dev set (devsets/real) from its public sources, ready for `stages.evaluate` and `bench.transfer`.

For every row of devsets/real/manifest.csv (or `--manifest`, with its `labels/` folder beside it) the source file is read from a local mirror of its repository (`--mirror`:
a folder of bare git directories named `owner+name`, as `owner+name/repo`, `owner+name` or `owner+name.git`) or else
downloaded from raw.githubusercontent.com at the recorded commit; its sha256 must match the manifest. PDF pages are
rendered at RENDER_DPI, EXIF orientation is applied, transparency is flattened on white, and a page longer than
MAX_SIDE px is scaled down to TARGET_SIDE px (labels are fractions of the page, so they still match). Output:
`<out>/images/<name>.png|jpg`, `<out>/labels/<name>.txt` and `<out>/dataset.yaml` (train, val and test: all pages),
and `<out>/kinds.csv` where the manifest has one beside it: the kind of every labelled box (BOX_KINDS), by which
`bench.transfer` counts the lines found of each kind. With `--black-and-white` every page is saved as a bitonal
office or fax scanner gives it (each pixel black or white, at Otsu's threshold of the grey page; PNG), to see what
losing the grey of the ink costs.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import re
import subprocess
from pathlib import Path

from hwdetect.cli import UserError, cli, log
from hwdetect.files.atomic import atomic_dir
from hwdetect.files.tables import read_table
from hwdetect.files.walk import display
from hwdetect.files.yolo_labels import read_boxes
from hwdetect.paths import ROOT, RUNS

DEVSET = ROOT / "devsets" / "real"
MANIFEST = DEVSET / "manifest.csv"
COLUMNS = ("name", "repo", "commit", "path", "page", "sha256", "licence", "redistributable", "kind", "note")
KINDS = ("print-only", "handwriting-in-print")
BOX_KINDS = ("line", "signature", "initials", "mark")  # kinds.csv: a line or entry, a signature, initials, a tick
KINDS_FILE = "kinds.csv"
RENDER_DPI = 150  # a PDF page as an office scanner's default resolution gives it
MAX_SIDE = 2000  # pages longer than this (phone photos, 300 dpi scans) are scaled down ...
TARGET_SIDE = 1800  # ... to this long side, the size of a 200 dpi Letter scan
JPEG_QUALITY = 92
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
HEX64 = re.compile(r"[0-9a-f]{64}")
DATASET_YAML = "train: images\nval: images\ntest: images\nnames:\n  0: handwriting\n"


def read_manifest(path: Path = MANIFEST) -> list[dict[str, str]]:
    """The manifest's rows, each checked; UserError naming the row and the column at fault."""
    if not path.is_file():
        raise UserError(f"{display(path)}: no such file; restore it from git (git checkout -- {display(path)})")
    rows = read_table(path)
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2):
        where = f"{display(path)}:{n}"
        if set(row) != set(COLUMNS):
            raise UserError(f"{where}: expected the columns {', '.join(COLUMNS)}; fix the header or the row")
        if not NAME.fullmatch(row["name"] or "") or row["name"] in seen:
            raise UserError(f"{where}: name {row['name']!r} is empty, repeated or not lower-case [a-z0-9._-]; "
                            f"give the page a unique name")
        if not HEX64.fullmatch(row["sha256"] or "") or row["kind"].split("/")[0] not in KINDS:
            raise UserError(f"{where}: sha256 must be 64 lower-case hex digits and kind start with one of "
                            f"{', '.join(KINDS)}; fix the row")
        if row["page"] and not (row["page"].isdigit() and int(row["page"]) >= 1):
            raise UserError(f"{where}: page {row['page']!r} must be a page number from 1, or empty for an image")
        seen.add(row["name"])
    return rows


def mirror_source(mirror: Path, row: dict[str, str]) -> bytes | None:
    """The file at the row's commit from a bare git directory under `mirror`, or None when there is none."""
    stem = row["repo"].replace("/", "+")
    for git_dir in (mirror / stem / "repo", mirror / stem, mirror / f"{stem}.git"):
        if (git_dir / "HEAD").is_file():
            done = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "blob", f"{row['commit']}:{row['path']}"],
                                  capture_output=True)
            return done.stdout if done.returncode == 0 else None
    return None


def download(row: dict[str, str]) -> bytes:
    import requests

    from hwdetect.files.http import new_session

    from urllib.parse import quote

    url = RAW_URL.format(repo=row["repo"], commit=row["commit"], path=quote(row["path"]))
    try:
        answer = new_session("realset").get(url, timeout=60)
    except requests.RequestException as err:
        raise UserError(f"{row['name']}: cannot download {url} ({type(err).__name__}); check the network, or give "
                        f"--mirror with a local copy of {row['repo']}") from None
    if answer.status_code != 200:
        raise UserError(f"{row['name']}: {url} answered HTTP {answer.status_code}; give --mirror with a local copy "
                        f"of {row['repo']}")
    return answer.content


def source_bytes(row: dict[str, str], mirror: Path | None, manifest: Path) -> bytes:
    data = mirror_source(mirror, row) if mirror else None
    data = download(row) if data is None else data
    digest = hashlib.sha256(data).hexdigest()
    if digest != row["sha256"]:
        raise UserError(f"{display(manifest)}: row {row['name']}: sha256 of {row['repo']}@{row['commit'][:10]}:"
                        f"{row['path']} is {digest}, expected {row['sha256']}; the source differs from the one "
                        f"labelled, so its labels would not match")
    return data


def to_page(data: bytes, row: dict[str, str]):
    """The page as a PIL image in its final orientation, mode (L or RGB) and size."""
    from PIL import Image, ImageOps

    if row["page"]:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(data)
        if int(row["page"]) > len(pdf):
            raise UserError(f"{row['name']}: {row['path']} has {len(pdf)} pages, not {row['page']}; fix the row")
        image = pdf[int(row["page"]) - 1].render(scale=RENDER_DPI / 72).to_pil()
    else:
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    if image.mode in ("RGBA", "LA", "P", "PA"):
        grey = image.mode == "LA"
        image = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("L" if grey else "RGB")
    image = image.convert("L" if image.mode in ("1", "L", "I;16", "I") else "RGB")
    if max(image.size) > MAX_SIDE:
        scale = TARGET_SIDE / max(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    return image


def black_and_white(image):
    """The page as a bitonal scanner gives it: grey, then every pixel black or white at Otsu's threshold."""
    import cv2
    import numpy as np
    from PIL import Image

    grey = np.asarray(image.convert("L"))
    return Image.fromarray(cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1])


def save_page(image, row: dict[str, str], folder: Path, bitonal: bool = False) -> None:
    if bitonal:
        image = black_and_white(image)
    if not bitonal and Path(row["path"]).suffix.lower() in (".jpg", ".jpeg"):
        image.save(folder / f"{row['name']}.jpg", quality=JPEG_QUALITY)
    else:
        image.save(folder / f"{row['name']}.png", optimize=True)


def labels_of(manifest: Path) -> Path:
    return manifest.parent / "labels"


def read_kinds(path: Path) -> dict[str, list[str]]:
    """The kind of each labelled box by page name, in label-file order (kinds.csv: name,index,kind); UserError
    naming the line at fault."""
    kinds: dict[str, list[str]] = {}
    for n, row in enumerate(read_table(path), start=2):
        where = f"{display(path)}:{n}"
        if set(row) != {"name", "index", "kind"}:
            raise UserError(f"{where}: expected the columns name, index, kind; fix the header or the row")
        boxes = kinds.setdefault(row["name"], [])
        if row["index"] != str(len(boxes)) or row["kind"] not in BOX_KINDS:
            raise UserError(f"{where}: expected box {len(boxes)} of {row['name']} with a kind among "
                            f"{', '.join(BOX_KINDS)}, got {row['index']!r} {row['kind']!r}; one row per box, in the "
                            f"order of its label file")
        boxes.append(row["kind"])
    return kinds


def kinds_match(path: Path, kinds: dict[str, list[str]], name: str, boxes: int) -> None:
    """UserError unless kinds.csv (`path`) gives page `name` one kind for each of its `boxes` labelled boxes."""
    if len(kinds.get(name, [])) != boxes:
        raise UserError(f"{display(path)}: {name} has {len(kinds.get(name, []))} kinds for its {boxes} labelled "
                        f"boxes; give one row per box")


def checked_kinds(manifest: Path, rows: list[dict[str, str]]) -> dict[str, list[str]] | None:
    """The manifest's kinds.csv, if it has one, checked against its labels: a kind for every box of every page."""
    path = manifest.parent / KINDS_FILE
    if not path.is_file():
        return None
    kinds = read_kinds(path)
    for row in rows:
        kinds_match(path, kinds, row["name"], len(read_boxes(labels_of(manifest) / f"{row['name']}.txt")))
    if (unknown := sorted(set(kinds) - {row["name"] for row in rows})):
        raise UserError(f"{display(path)}: {unknown[0]} is not a page of {display(manifest)}; remove its rows")
    return kinds


def build(out: Path, mirror: Path | None, manifest: Path = MANIFEST, bitonal: bool = False) -> int:
    from tqdm import tqdm

    rows = read_manifest(manifest)
    labels = labels_of(manifest)
    for row in rows:  # every label is checked before anything is written
        read_boxes(labels / f"{row['name']}.txt", "fix the label file (one `0 cx cy w h` line per handwritten line)")
    kinds = checked_kinds(manifest, rows)
    with atomic_dir(out) as tmp:
        (tmp / "images").mkdir()
        (tmp / "labels").mkdir()
        for row in tqdm(rows, desc="real pages", unit="page"):
            save_page(to_page(source_bytes(row, mirror, manifest), row), row, tmp / "images", bitonal)
            (tmp / "labels" / f"{row['name']}.txt").write_bytes((labels / f"{row['name']}.txt").read_bytes())
        (tmp / "dataset.yaml").write_text(DATASET_YAML, encoding="utf-8")
        if kinds is not None:
            (tmp / KINDS_FILE).write_bytes((manifest.parent / KINDS_FILE).read_bytes())
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirror", type=Path, help="folder of bare git mirrors (owner+name); else download")
    parser.add_argument("--out", type=Path, default=RUNS / "realset", help="output folder (default: runs/realset)")
    parser.add_argument("--manifest", type=Path, default=MANIFEST,
                        help="the pages to build, with their labels/ beside it (default: devsets/real/manifest.csv)")
    parser.add_argument("--black-and-white", action="store_true",
                        help="save every page black and white, as a bitonal scanner gives it (PNG)")
    a = parser.parse_args()
    if a.mirror is not None and not a.mirror.is_dir():
        raise UserError(f"{display(a.mirror)}: no such folder; give the folder holding the owner+name mirrors")
    count = build(a.out.absolute(), a.mirror, a.manifest.absolute(), a.black_and_white)
    log.info("%d pages in %s; score with: python -m stages.evaluate --model models/detector/best.pt --data %s "
             "--split val --out <dir>", count, display(a.out), display(a.out / "dataset.yaml"))


if __name__ == "__main__":
    cli(main)
