"""Proxy for real-scan transfer: score the trained detector on synthetic pages made with what training never saw,
with the error breakdown an OCR step cares about (split, merged and missed lines, boxes off the lines, box height).

Sets (each `--pages` pages, seeds disjoint from training):
  seen         the training recipe itself (params.yaml synthetic), fresh pages
  seen@0.8x    the same pages shown at 0.8x the training image size (a page scanned smaller)
  seen@1.25x   the same pages shown at 1.25x (a page scanned larger)
  wide-gaps    IAM-like forms in held-out hands with wide word gaps (1.5-3 sizes) and disconnected, print-like letters
  new-hands    IAM-like forms written in held-out hands with held-out print fonts
  new-layout   a held-out layout (margin notes on dense printed pages)
  new-scan     IAM-like forms degraded beyond the training artefacts (heavy blur, JPEG 25, low contrast)
Run after `dvc repro`: `python -m bench.transfer` (one JSON line per set, then the gaps to `seen`).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

import cv2
import numpy as np

from hwdetect.config import params as P
from hwdetect.evaluation.errors import image_errors, summarise
from hwdetect.evaluation.evaluate import predictions, split_images, validate
from hwdetect.paths import EVAL_RUN, MODEL, ROOT, RUNS
from hwdetect.synth.generate import generate, page_spec
from hwdetect.training import runtime

HELD_OUT_HANDS = ("dancing-script", "kalam-light", "hershey-timesi")
HELD_OUT_PRINT = ("eb-garamond", "dejavu-serif-bold")
WIDE_GAPS = (("word_gap", 1.5, 3.0), ("tracking", 0.08, 0.25))
SCALES = {"seen@0.8x": 0.8, "seen@1.25x": 1.25}
WORK = RUNS / "transfer"
SHOWN = ("mAP50", "mAP50-95", "split_lines_per_line", "merged_lines", "missed_per_line", "boxes_off_lines_per_line",
         "median_height_ratio")


def degrade(folder: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for f in sorted(folder.glob("*.jpg")):
        img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE).astype(np.float32)
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.2, 2.0))
        img = 128 + (img - 128) * rng.uniform(0.5, 0.8)
        cv2.imwrite(str(f), np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 25])


def make_set(name: str, spec, pages: int, seed: int) -> Path:
    folder = WORK / name
    generate(folder / "data", seed, pages, spec)
    if name == "new-scan":
        degrade(folder / "data" / "images", seed)
    (folder / "dataset.yaml").write_text(
        "train: data/images\nval: data/images\ntest: data/images\nnames:\n  0: handwriting\n")
    return folder / "dataset.yaml"


def score(model: Path, dataset: Path, imgsz: int, batch: int) -> dict:
    """mAP (Ultralytics val) and the error breakdown of `model` on a generated set shown at `imgsz`."""
    m = validate(model, dataset, "test", imgsz, batch, "cpu", 0.001, 0.6, EVAL_RUN, plots=False)
    found = predictions(model, split_images(dataset, "test"), imgsz, "cpu")
    errors = summarise([image_errors(pred, truth) for _, pred, _, truth in found])
    return {"imgsz": imgsz, "mAP50": round(float(m.box.map50), 4), "mAP50-95": round(float(m.box.map), 4), **errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=60, help="pages per set (default: %(default)s)")
    parser.add_argument("--model", type=Path, default=MODEL, help="the detector (default: the pipeline's best.pt)")
    parser.add_argument("--imgsz", type=int, help="the size it was trained at (default: the profile's imgsz)")
    a = parser.parse_args()
    model = a.model.absolute()
    os.chdir(ROOT)
    p = P.load()
    prof = P.profile(p)
    imgsz = a.imgsz or prof["imgsz"]
    runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    base = page_spec(p["synthetic"])
    seen_hands = [h for h in base.hands if h not in HELD_OUT_HANDS]
    if len(seen_hands) != len(base.hands):
        print(f"note: training already uses {set(base.hands) - set(seen_hands)}; held-out hands are not fully new")
    iam_like = dataclasses.replace(base, layouts={"iam_form": 1.0})
    sets = {
        "seen": base,
        "wide-gaps": dataclasses.replace(iam_like, hands=HELD_OUT_HANDS, writer_ranges=WIDE_GAPS),
        "new-hands": dataclasses.replace(iam_like, hands=HELD_OUT_HANDS, print_fonts=HELD_OUT_PRINT),
        "new-layout": dataclasses.replace(base, layouts={"margin_notes": 1.0}),
        "new-scan": iam_like,
    }
    results = {}
    for i, (name, spec) in enumerate(sets.items()):
        dataset = make_set(name, spec, a.pages, 1_000_000 + i)
        results[name] = score(model, dataset, imgsz, prof["batch"])
        print(json.dumps({"set": name, **{k: results[name][k] for k in ("imgsz", *SHOWN, "lines")}}), flush=True)
        if name == "seen":
            for scaled, factor in SCALES.items():
                shown_at = int(imgsz * factor / 32 + 0.5) * 32  # Ultralytics needs a multiple of the stride
                results[scaled] = score(model, dataset, shown_at, prof["batch"])
                print(json.dumps({"set": scaled, **{k: results[scaled][k] for k in ("imgsz", *SHOWN, "lines")}}),
                      flush=True)
    for name in list(results)[1:]:
        gap = {k: round(results["seen"][k] - results[name][k], 4) for k in ("mAP50", "mAP50-95")}
        print(f"gap seen → {name}: mAP50 {gap['mAP50']:+.3f}, mAP50-95 {gap['mAP50-95']:+.3f}")


if __name__ == "__main__":
    main()
