"""Stage `synthetic`: generate document pages with YOLO labels, one box per handwritten line.

Output (`data/sources/synthetic/`): images/*.jpg, labels/*.txt and groups.csv (page, group) for the split stage.
Each page is seeded by (seed, page index), so the result does not depend on the number of worker processes.
"""
from __future__ import annotations

import argparse
import os
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import cv2
from tqdm import tqdm

from stages import params as P
from stages.common import ROOT, atomic_dir, cli, log, shown
from stages.pages import render_page, yolo_labels

OUT = ROOT / "data" / "sources" / "synthetic"


def _write_page(index: int, out: Path, seed: int, width: int, height: int, lines: tuple[int, int]) -> str:
    img, boxes = render_page(seed, index, width, height, lines)
    name = f"syn{index:06d}"
    cv2.imwrite(str(out / "images" / f"{name}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    (out / "labels" / f"{name}.txt").write_text(yolo_labels(boxes, width, height))
    return name


def generate(out_dir: Path, seed: int, pages: int, width: int, height: int, lines: tuple[int, int],
             workers: int = 0) -> None:
    with atomic_dir(out_dir) as out:
        (out / "images").mkdir()
        (out / "labels").mkdir()
        job = partial(_write_page, out=out, seed=seed, width=width, height=height, lines=lines)
        workers = min(workers or os.cpu_count() or 1, pages)
        with Pool(workers) as pool:
            names = list(tqdm(pool.imap(job, range(pages), chunksize=4), total=pages, desc="synthetic pages",
                              unit="page"))
        # Each page has its own writer style, so each page is its own group.
        (out / "groups.csv").write_text("image,group\n" + "".join(f"{n}.jpg,{n}\n" for n in names))
    log.info(f"synthetic: {pages} pages of {width}x{height} written to {shown(out_dir)}")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog="Reads params.yaml: seed, synthetic.").parse_args()
    p = P.load()
    s = p["synthetic"]
    generate(OUT, p["seed"], s["pages"], s["width"], s["height"], tuple(s["lines"]), s["workers"])


if __name__ == "__main__":
    cli(main)
