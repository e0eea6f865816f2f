"""Command `python -m hwdetect.preannotate`: the model's boxes on your unlabelled pages, as pre-annotations for
labelImg, CVAT and Label Studio, least-sure pages first.

Writes into --out one folder per format (yolo/, voc/, coco/, label-studio/; hwdetect/preannotate/formats.py says
which tool imports which) holding the --worst N pages the model is least sure of (uncertainty.py gives the rule),
and preannotations.csv: every input file with its rank, uncertainty, boxes and top score, or why it was skipped.
Pages are written as displayed (EXIF orientation applied), so every tool shows the boxes where they belong, under
names that never collide (names.py); each page of a PDF is rendered at --pdf-dpi and written as <file>.page001.png.
A run into the folder of an earlier one keeps every file the user corrected or added there, and earlier pages
(merge.py). Exit code 2 when no input file holds a readable page; a warning counts the files skipped, by reason.
Boxes are scored as predict scores them: checked by the verifier beside the model (--verifier, --no-verifier).
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from hwdetect.cli import UserError, cli, log, one_line
from hwdetect.evaluation.detector import check_file
from hwdetect.files.atomic import atomic_dir
from hwdetect.paths import MODEL, shown
from hwdetect.detection import FORMATS as MODEL_FORMATS
from hwdetect.detection import checked_by, close_zoom, detect, load_model, model_imgsz
from hwdetect.files.tables import write_table
from hwdetect.predict import check_out, input_files
from hwdetect.preannotate.formats import FORMATS, write_all
from hwdetect.preannotate.merge import (IMAGE_FOLDERS, earlier_names, earlier_pages, kept_line, merge,
                                        read_record)
from hwdetect.preannotate.names import assign_names, readable_name
from hwdetect.preannotate.uncertainty import CANDIDATE_CONF, least_sure_first, uncertainty
from hwdetect.sources.images import IMAGE_SUFFIXES, UnreadableImage, open_image, read_pages_rgb, write_displayed
from hwdetect.sources.pdf import PDF_DPI, page_name, pdf_pages
from hwdetect.training import runtime
from hwdetect.verify.options import add_arguments, verifier_path

CSV_COLUMNS = ("rank", "file", "page", "uncertainty", "boxes", "max_score", "status", "reason")


def read_pages(path: Path, rel: str, staging: Path, dpi: int, numbers: Iterator[int]
               ) -> Iterator[tuple[str, str, Path, np.ndarray]]:
    """(file, proposed page name, upright image file, RGB) of an image (turned, or converted to PNG when the `custom`
    stage cannot read its kind, into `staging`) or of every page of a PDF or multi-page image (rendered into
    `staging` as PNG, named by file and page)."""
    if path.suffix.lower() == ".pdf":
        pages = (rgb for _, rgb in pdf_pages(path, dpi))
    else:
        pages, orientation = read_pages_rgb(path)
    if path.suffix.lower() == ".pdf" or len(pages) > 1:
        for number, rgb in enumerate(pages, start=1):
            file = page_name(rel, number)
            staged = staging / f"{next(numbers)}.png"
            Image.fromarray(rgb).save(staged)
            yield file, f"{file.replace('/', '__')}.png", staged, rgb
        return
    rgb, name = pages[0], readable_name(rel)
    staged = staging / f"{next(numbers)}{Path(name).suffix}"
    if name != rel.replace("/", "__"):
        Image.fromarray(rgb).save(staged, format="PNG")
    elif orientation != 1:
        write_displayed(open_image(path)[0], orientation, path, staged)
    yield rel, name, (staged if staged.exists() else path), rgb


def page_record(file: str, name: str, image: Path, rgb: np.ndarray, model, settings: dict, conf: float) -> dict:
    """A page for the writers: its kept boxes (score >= conf) and how unsure the model is about it."""
    candidates = detect(model, np.ascontiguousarray(rgb[:, :, ::-1]), settings)
    kept = [b for b in candidates if b["score"] >= conf]
    return {"file": file, "name": name, "image": image, "width": rgb.shape[1], "height": rgb.shape[0], "boxes": kept,
            "uncertainty": uncertainty(candidates, conf), "max_score": max((b["score"] for b in kept), default=0.0)}


def skip_summary(skipped: list[dict]) -> str:
    """How many files were skipped for each reason, with one of each: `2 not an image file Pillow can read (a.txt,
    ...)`."""
    by_reason: dict[str, list[str]] = {}
    for row in skipped:
        by_reason.setdefault(row["reason"].split(" (")[0].split(";")[0][:80], []).append(row["file"])
    return ", ".join(f"{len(files)} {reason} ({files[0]}{', ...' if len(files) > 1 else ''})"
                     for reason, files in sorted(by_reason.items(), key=lambda item: -len(item[1])))


def read_all(files: list[Path], source: Path, staging: Path, model, settings: dict, conf: float, dpi: int
             ) -> tuple[list[dict], list[dict]]:
    """Every readable page of the files, with its boxes; and the rows of the files skipped, saying why."""
    from tqdm import tqdm

    pages, skipped, numbers = [], [], itertools.count()
    for path in tqdm(files, desc="pre-annotate", unit="file"):
        rel = path.name if path == source else path.relative_to(source).as_posix()
        try:
            for file, name, image, rgb in read_pages(path, rel, staging, dpi, numbers):
                pages.append(page_record(file, name, image, rgb, model, settings, conf))
        except UnreadableImage as err:
            skipped.append({"file": rel, "status": "skipped", "reason": str(err)})
    if not pages and source.is_file():
        raise UserError(f"--source {shown(source)}: {skipped[0]['reason']} (nothing was written)")
    if not pages:
        raise UserError(f"--source {shown(source)}: none of its {len(files)} files holds a page that can be read: "
                        f"{skip_summary(skipped)}; give page images ({', '.join(IMAGE_SUFFIXES)}) or PDFs (nothing "
                        f"was written)")
    return pages, skipped


def preannotate(model_path: Path, source: Path, out_dir: Path, formats: list[str], worst: int | None = None,
                conf: float = 0.25, imgsz: int | None = None, device: str | None = None,
                pdf_dpi: int = PDF_DPI, verifier: Path | None = None) -> tuple[list[dict], dict[str, list[str]], bool]:
    """Pre-annotate the least-sure pages under `source` into out_dir, merged into an earlier run's output there
    (merge.py); the CSV rows, the files kept from the earlier output, and whether it had a record of its files."""
    check_file(model_path, "--model")
    if unknown := [f for f in formats if f not in FORMATS]:
        raise UserError(f"--formats: unknown format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    if not formats:
        raise UserError(f"--formats: empty; give one or more of {', '.join(FORMATS)}")
    if not 0 < conf <= 1 or worst is not None and worst < 1 or not 36 <= pdf_dpi <= 1200:
        raise UserError(f"expected 0 < --conf <= 1, --worst >= 1 and 36 <= --pdf-dpi <= 1200; got {conf}, {worst}, "
                        f"{pdf_dpi}")
    files = input_files(source)
    check_out(out_dir, source)
    record = read_record(out_dir)
    runtime.setup()
    runtime.check_device(device, "--device", "pass --device cpu, or leave it out")
    model, fmt = load_model(model_path), MODEL_FORMATS[model_path.suffix.lower()]
    checker = checked_by(verifier)
    settings = {"imgsz": model_imgsz(model, model_path, fmt, imgsz, close_zoom(checker)), "conf": CANDIDATE_CONF,
                "iou": 0.7, "device": device, "keep_duplicates": False, "verifier": checker}
    version = f"{model_path.name}@{hashlib.sha256(model_path.read_bytes()).hexdigest()[:12]}"
    with tempfile.TemporaryDirectory() as staging:
        pages, skipped = read_all(files, source, Path(staging), model, settings, conf, pdf_dpi)
        assign_names(pages, earlier_names(record))
        ranked = least_sure_first(pages)
        chosen = ranked[:worst]
        names = {p["name"] for p in chosen}
        earlier = {f: earlier_pages(out_dir, record, f, names if f in formats else set()) for f in IMAGE_FOLDERS}
        listed = {f: [*([{k: p[k] for k in ("file", "name", "width", "height", "boxes")} | {"model_version": version}
                         for p in chosen] if f in formats else []), *earlier[f]] for f in IMAGE_FOLDERS}
        rows = [{**{k: p[k] for k in ("file", "uncertainty", "max_score")}, "rank": rank, "boxes": len(p["boxes"]),
                 "page": p["name"] if p["name"] in names else "",
                 "status": "written" if p["name"] in names else "not chosen"}
                for rank, p in enumerate(ranked, start=1)] + skipped
        with atomic_dir(out_dir, inputs=[source]) as out:
            write_all(out, chosen, formats, version, earlier)
            write_table(out / "preannotations.csv", CSV_COLUMNS, rows)
            kept = merge(out_dir, out, record, {f: pages for f, pages in listed.items() if pages})
    return rows, kept, bool(record["files"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--source", type=Path, required=True, help="a page image, or a folder searched recursively")
    parser.add_argument("--out", type=Path, required=True, help="output folder (new, or an earlier pre-annotation)")
    parser.add_argument("--model", type=Path, default=MODEL, help="a .pt or .onnx model (default: the pipeline's)")
    parser.add_argument("--worst", type=int, help="pre-annotate only the N pages the model is least sure of")
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated (default: {','.join(FORMATS)})")
    parser.add_argument("--conf", type=float, default=0.25, help="lowest score of a pre-annotated box (default 0.25)")
    parser.add_argument("--imgsz", type=int, help="inference size (default: the model's training/export size)")
    parser.add_argument("--device", help="torch device, e.g. cpu or 0 (default: the first GPU if any, else cpu)")
    parser.add_argument("--pdf-dpi", type=int, default=PDF_DPI, help=f"resolution PDF pages are rendered at "
                                                                       f"(default {PDF_DPI})")
    add_arguments(parser)
    args = parser.parse_args()
    model, source, out = args.model.absolute(), args.source.absolute(), args.out.absolute()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    rows, kept, recorded = preannotate(model, source, out, formats, args.worst, args.conf, args.imgsz, args.device,
                                       args.pdf_dpi, verifier_path(model, args.verifier, args.no_verifier))
    written = [r for r in rows if r["status"] == "written"]
    if skipped := [r for r in rows if r["status"] == "skipped"]:
        print(f"warning: {len(skipped)} of {len(rows)} files skipped: {one_line(skip_summary(skipped))}; each reason "
              f"is in preannotations.csv", file=sys.stderr)
    if line := kept_line(kept, recorded):
        log.info(f"preannotate: {line}")
    log.info(f"preannotate: {len(written)} of {len(rows)} files pre-annotated, least sure first, with "
             f"{sum(r['boxes'] for r in written)} boxes → {shown(out)} (see preannotations.csv)")


if __name__ == "__main__":
    cli(main)
