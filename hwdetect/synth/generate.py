"""A set of synthetic pages written as a data source: images/*.jpg, labels/*.txt, groups.csv, and a contact sheet.

Each page is seeded by (seed, page index), so the result does not depend on the number of worker processes.
"""
from __future__ import annotations

import os
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import cv2
from tqdm import tqdm

from hwdetect.cli import log
from hwdetect.files.atomic import atomic_dir
from hwdetect.files.tables import table_text
from hwdetect.files.yolo_labels import PRINT, format_boxes
from hwdetect.paths import shown
from hwdetect.synth.pages import PageSpec, contact_sheet, render_page


def page_spec(s: dict) -> PageSpec:
    """The page recipe from params.yaml's `synthetic` section."""
    return PageSpec(s["width"], s["height"], tuple(s["lines"]), dict(s["layouts"]), tuple(s["hands"]),
                    tuple(s["print_fonts"]), tuple(s["signatures"]), typed_fill=s["typed_fill"])


def _write_page(index: int, out: Path, seed: int, spec: PageSpec, keep: int, print_labels: bool):
    img, boxes, printed = render_page(seed, index, spec)
    name = f"syn{index:06d}"
    cv2.imwrite(str(out / "images" / f"{name}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    h, w = img.shape
    print_rows = format_boxes(printed, w, h, PRINT) if print_labels else ""
    (out / "labels" / f"{name}.txt").write_text(format_boxes(boxes, w, h) + print_rows)
    return name, (img, boxes, printed) if index < keep else None


def generate(out_dir: Path, seed: int, pages: int, spec: PageSpec, workers: int = 0,
             sheet_dir: Path | None = None, sheet_pages: int = 0, print_labels: bool = False) -> None:
    """Write `pages` pages into out_dir (replaced whole, or left untouched on error). The labels hold handwriting
    (class 0), and with print_labels the print too (class 1: for sets that measure boxes on print, not for training)."""
    with atomic_dir(out_dir) as out:
        (out / "images").mkdir()
        (out / "labels").mkdir()
        keep = sheet_pages if sheet_dir else 0
        job = partial(_write_page, out=out, seed=seed, spec=spec, keep=keep, print_labels=print_labels)
        workers = min(workers or os.cpu_count() or 1, pages)
        with Pool(workers) as pool:
            results = list(tqdm(pool.imap(job, range(pages), chunksize=4), total=pages, desc="synthetic pages",
                                unit="page"))
        # Each page has its own writer, so each page is its own group.
        (out / "groups.csv").write_text(table_text(("image", "group"), ((f"{n}.jpg", n) for n, _ in results)))
        if sheet_dir:
            with atomic_dir(sheet_dir) as sheet:
                samples = [sample for _, sample in results if sample is not None]
                cv2.imwrite(str(sheet / "contact_sheet.png"), contact_sheet(samples))
    log.info(f"synthetic: {pages} pages of {spec.width}x{spec.height} written to {shown(out_dir)}")
