"""Proxy for real-scan transfer: score the trained detector on synthetic pages made with what training never saw,
and on real labelled sets, with the error breakdown an OCR step cares about (split, merged and missed lines, boxes
off the labelled handwriting per page, boxes on labelled print per page, box height).

Sets (each `--pages` pages, seeds disjoint from training):
  seen         the training recipe itself (params.yaml synthetic), fresh pages
  seen@0.8x    the same pages shown at 0.8x the training image size (a page scanned smaller)
  seen@1.25x   the same pages shown at 1.25x (a page scanned larger)
  wide-gaps    IAM-like forms in held-out hands with wide word gaps (1.5-3 sizes) and disconnected, print-like letters
  new-hands    IAM-like forms written in held-out hands with held-out print fonts
  margin-notes notes beside and between dense print (a small share of training pages), held-out hands
  new-scan     IAM-like forms degraded beyond the training artefacts (heavy blur, JPEG 25, low contrast)
  print-only   pages with no handwriting (where the generator has the print_only layout): every box is one too many
  letters      typed letters and memos signed in held-out faces, with held-out hands for notes
  cheques      cheques filled in held-out hands and signed in held-out faces
  <folder>     each --real dataset.yaml, named by its folder: its test split (val where it has none); where a
               kinds.csv lies beside it (bench.realset copies the dev set's), the lines found of each kind of box
Run after `dvc repro`: `python -m bench.transfer [--real path/to/dataset.yaml ...]` (one JSON line per set, the gaps
to `seen`, then a markdown table of every set).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

import cv2
import numpy as np

from bench.realset import KINDS_FILE, kinds_match, read_kinds
from hwdetect.cli import UserError, cli
from hwdetect.config import params as P
from hwdetect.config.registry import LAYOUTS
from hwdetect.evaluation.dataset import load_yaml
from hwdetect.evaluation.errors import IOU_MATCH
from hwdetect.evaluation.evaluate import Page, breakdown, predictions, split_images, split_labels, validate
from hwdetect.evaluation.metrics import match, summary
from hwdetect.files.walk import display
from hwdetect.paths import EVAL_RUN, MODEL, ROOT, RUNS
from hwdetect.synth.generate import generate, page_spec
from hwdetect.training import runtime
from hwdetect.verify.options import add_arguments, verifier_path

HELD_OUT_HANDS = ("dancing-script", "kalam-light", "hershey-timesi")
HELD_OUT_PRINT = ("eb-garamond", "dejavu-serif-bold")
HELD_OUT_SIGNATURES = ("dancing-script", "hershey-scripts", "caveat")
WIDE_GAPS = (("word_gap", 1.5, 3.0), ("tracking", 0.08, 0.25))
SCALES = {"seen@0.8x": 0.8, "seen@1.25x": 1.25}
WORK = RUNS / "transfer"
SHOWN = ("split", "imgsz", "pages", "mAP50", "mAP50-95", "lines", "found", "split_lines", "merged_lines",
         "missed_per_line", "boxes_off_lines_per_page", "boxes_on_print_per_page", "print_only_pages",
         "boxes_on_print_only_pages_per_page", "median_height_ratio", "found_by_kind")


def degrade(folder: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for f in sorted(folder.glob("*.jpg")):
        img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE).astype(np.float32)
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.2, 2.0))
        img = 128 + (img - 128) * rng.uniform(0.5, 0.8)
        cv2.imwrite(str(f), np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 25])


def make_set(name: str, spec, pages: int, seed: int) -> Path:
    folder = WORK / name
    generate(folder / "data", seed, pages, spec, print_labels=True)
    if name == "new-scan":
        degrade(folder / "data" / "images", seed)
    labels = [f.read_text() for f in (folder / "data" / "labels").glob("*.txt")]
    printed = any(line.startswith("1 ") for text in labels for line in text.splitlines())
    (folder / "dataset.yaml").write_text("train: data/images\nval: data/images\ntest: data/images\nnames:\n"
                                         "  0: handwriting\n" + ("  1: print\n" if printed else ""))
    return folder / "dataset.yaml"


def real_sets(given: list[Path]) -> dict[str, tuple[Path, str, dict[str, list[str]] | None]]:
    """Each --real dataset.yaml by its folder's name (numbered where two share one), with the split scored (test,
    or val where it has none) and the kinds of its boxes (the kinds.csv beside it, if any). Checked whole, labels
    and kinds included, before any page is generated."""
    sets: dict[str, tuple[Path, str, dict[str, list[str]] | None]] = {}
    for data in given:
        split = "test" if load_yaml(data).get("test") else "val"
        images, names = split_images(data, split)
        labels = split_labels(images, names)
        known = None
        if (kinds := data.parent / KINDS_FILE).is_file():  # a kind for every labelled box
            known = read_kinds(kinds)
            for image, (truth, *_) in zip(images, labels):
                kinds_match(kinds, known, image.stem, len(truth))
        name = data.parent.name or "real"
        name = name if name not in sets else f"{name}-{len(sets) + 1}"
        sets[name] = (data, split, known)
    return sets


def score(model: Path, dataset: Path, split: str, imgsz: int, batch: int, verifier=None,
          kinds: dict[str, list[str]] | None = None) -> dict:
    """mAP of handwriting (Ultralytics val) and the error breakdown of `model` on a set shown at `imgsz`, its boxes
    checked by `verifier` (hwdetect/verify) when given; with `kinds` (real_sets), the lines found of each kind."""
    images, names = split_images(dataset, split)
    labels = split_labels(images, names)
    m = validate(model, dataset, split, imgsz, batch, "cpu", 0.001, 0.6, EVAL_RUN, plots=False, verifier=verifier)
    figures = summary(m, len(images))
    pages = predictions(model, images, labels, imgsz, "cpu", verifier=verifier)
    by_kind = found_by_kind(pages, kinds) if kinds is not None else None
    return {"split": split, "imgsz": imgsz, "mAP50": figures["mAP50"], "mAP50-95": figures["mAP50-95"],
            **breakdown(pages), "found_by_kind": by_kind}


def found_by_kind(pages: list[Page], kinds: dict[str, list[str]]) -> dict[str, list[int]]:
    """[found, labelled] per kind of box (kinds.csv, checked by real_sets: the kinds of each page's boxes, in label
    order), a box found as the error breakdown finds a line (matched one to one at IoU 0.5)."""
    tally: dict[str, list[int]] = {}
    for page in pages:
        page_kinds = kinds.get(page.image.stem, [])
        found = {t for _, t in match(page.boxes, page.truth, IOU_MATCH)}
        for t, kind in enumerate(page_kinds):
            counts = tally.setdefault(kind, [0, 0])
            counts[0] += t in found
            counts[1] += 1
    return dict(sorted(tally.items()))


def synthetic_sets(base) -> dict:
    iam_like = dataclasses.replace(base, layouts={"iam_form": 1.0})
    sets = {
        "seen": base,
        "wide-gaps": dataclasses.replace(iam_like, hands=HELD_OUT_HANDS, writer_ranges=WIDE_GAPS),
        "new-hands": dataclasses.replace(iam_like, hands=HELD_OUT_HANDS, print_fonts=HELD_OUT_PRINT),
        "margin-notes": dataclasses.replace(base, layouts={"margin_notes": 1.0}, hands=HELD_OUT_HANDS),
        "new-scan": iam_like,
    }
    if "print_only" in LAYOUTS:
        sets["print-only"] = dataclasses.replace(base, layouts={"print_only": 1.0})
    for name, layout in (("letters", "typed_letter"), ("cheques", "cheque")):  # held-out hands and signatures
        sets[name] = dataclasses.replace(base, layouts={layout: 1.0}, hands=HELD_OUT_HANDS,
                                         signatures=HELD_OUT_SIGNATURES)
    return sets


def report(results: dict, name: str, figures: dict) -> None:
    results[name] = figures
    print(json.dumps({"set": name, **{k: figures[k] for k in SHOWN}}), flush=True)


TABLE = (("pages", "pages", "{}"), ("mAP50", "mAP50", "{:.3f}"), ("mAP50-95", "mAP50-95", "{:.3f}"),
         ("lines found", "found", "{}"), ("split", "split_lines", "{}"), ("merged", "merged_lines", "{}"),
         ("boxes off / page", "boxes_off_lines_per_page", "{:.2f}"),
         ("boxes on print / page", "boxes_on_print_per_page", "{:.2f}"),
         ("boxes / print-only page", "boxes_on_print_only_pages_per_page", "{:.2f}"))


def markdown_table(results: dict[str, dict]) -> str:
    """One row per set; "–" where a set cannot measure a figure (mAP without handwriting, print it does not label)."""
    rows = ["| set | " + " | ".join(title for title, _, _ in TABLE) + " |", "|---" * (len(TABLE) + 1) + "|"]
    for name, r in results.items():
        cells = ["–" if r[key] is None else form.format(r[key]) for _, key, form in TABLE]
        cells[3] = f"{r['found']}/{r['lines']}"
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=60, help="pages per set (default: %(default)s)")
    parser.add_argument("--model", type=Path, default=MODEL, help="the detector (default: the pipeline's best.pt)")
    parser.add_argument("--imgsz", type=int, help="the size it was trained at (default: the profile's imgsz)")
    parser.add_argument("--real", type=Path, action="append", default=[], metavar="DATASET_YAML",
                        help="a labelled real set to score beside the proxies (repeatable; named by its folder)")
    add_arguments(parser)
    a = parser.parse_args()
    model = a.model.absolute()
    if not model.is_file():
        raise UserError(f"--model {display(model)}: not found; run `dvc repro` first, or pass a trained detector")
    given = [data.absolute() for data in a.real]
    os.chdir(ROOT)
    p = P.load()
    prof = P.profile(p)
    imgsz = a.imgsz or prof["imgsz"]
    runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    real = real_sets(given)
    from hwdetect.verify.net import load

    checker = verifier_path(model, a.verifier and a.verifier.absolute(), a.no_verifier)
    verifier = load(checker) if checker else None
    print(f"boxes checked by {display(checker)}" if checker else "no verifier: every box the detector finds counts")
    base = page_spec(p["synthetic"])
    seen_hands = [h for h in base.hands if h not in HELD_OUT_HANDS]
    if len(seen_hands) != len(base.hands):
        print(f"note: training already uses {set(base.hands) - set(seen_hands)}; held-out hands are not fully new")
    results: dict[str, dict] = {}
    for i, (name, spec) in enumerate(synthetic_sets(base).items()):
        dataset = make_set(name, spec, a.pages, 1_000_000 + i)
        report(results, name, score(model, dataset, "test", imgsz, prof["batch"], verifier))
        if name == "seen":
            for scaled, factor in SCALES.items():
                shown_at = int(imgsz * factor / 32 + 0.5) * 32  # Ultralytics needs a multiple of the stride
                report(results, scaled, score(model, dataset, "test", shown_at, prof["batch"], verifier))
    for name, (data, split, kinds) in real.items():
        report(results, name, score(model, data, split, imgsz, prof["batch"], verifier, kinds))
    for name in list(results)[1:]:
        if results[name]["mAP50"] is not None:
            gap = {k: round(results["seen"][k] - results[name][k], 4) for k in ("mAP50", "mAP50-95")}
            print(f"gap seen → {name}: mAP50 {gap['mAP50']:+.3f}, mAP50-95 {gap['mAP50-95']:+.3f}")
    print("\n" + markdown_table(results))
    for name, r in results.items():
        if r.get("found_by_kind"):
            print(f"{name}, found by kind: " + ", ".join(f"{k} {f}/{n}" for k, (f, n) in r["found_by_kind"].items()))


if __name__ == "__main__":
    cli(main)
