"""Proxy for real-scan transfer: score the trained detector on synthetic pages made with what training never saw.

Sets (each `--pages` pages, seeds disjoint from training):
  seen        the training recipe itself (params.yaml synthetic), fresh pages
  new-hands   IAM-like forms written in held-out hands with held-out print fonts
  new-layout  a held-out layout (margin notes on dense printed pages)
  new-scan    IAM-like forms degraded beyond the training artefacts (heavy blur, JPEG 25, low contrast)
Run after `dvc repro`: `python -m bench.transfer` (prints one JSON line per set and the gaps).
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
from hwdetect.evaluation.evaluate import validate
from hwdetect.paths import EVAL_RUN, MODEL, ROOT, RUNS
from hwdetect.synth.generate import generate, page_spec
from hwdetect.training import runtime

HELD_OUT_HANDS = ("dancing-script", "kalam-light", "hershey-timesi")
HELD_OUT_PRINT = ("eb-garamond", "dejavu-serif-bold")
WORK = RUNS / "transfer"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=60)
    a = parser.parse_args()
    os.chdir(ROOT)
    p = P.load()
    prof = P.profile(p)
    runtime.setup(p["train"]["threads"])
    base = page_spec(p["synthetic"])
    seen_hands = [h for h in base.hands if h not in HELD_OUT_HANDS]
    if len(seen_hands) != len(base.hands):
        print(f"note: training already uses {set(base.hands) - set(seen_hands)}; 'new-hands' is not fully new")
    sets = {
        "seen": base,
        "new-hands": dataclasses.replace(base, layouts={"iam_form": 1.0}, hands=HELD_OUT_HANDS,
                                         print_fonts=HELD_OUT_PRINT),
        "new-layout": dataclasses.replace(base, layouts={"margin_notes": 1.0}),
        "new-scan": dataclasses.replace(base, layouts={"iam_form": 1.0}),
    }
    results = {}
    for i, (name, spec) in enumerate(sets.items()):
        dataset = make_set(name, spec, a.pages, 1_000_000 + i)
        m = validate(MODEL, dataset, "test", prof["imgsz"], prof["batch"], "cpu", 0.001, 0.6, EVAL_RUN, plots=False)
        results[name] = {"mAP50": round(float(m.box.map50), 4), "mAP50-95": round(float(m.box.map), 4)}
        print(json.dumps({"set": name, **results[name]}))
    for name in list(sets)[1:]:
        gap = {k: round(results["seen"][k] - results[name][k], 4) for k in ("mAP50", "mAP50-95")}
        print(f"gap seen → {name}: mAP50 {gap['mAP50']:+.3f}, mAP50-95 {gap['mAP50-95']:+.3f}")


if __name__ == "__main__":
    main()
