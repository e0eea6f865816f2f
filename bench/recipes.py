"""Compare training recipes: generate each recipe's synthetic pages, train the cpu profile on them (or on a GPU with
--device 0), and score every model with bench.transfer on the same proxy and real sets.

A recipe is params.yaml with a few overrides (RECIPES below). Models and sets go to runs/recipes/<recipe>/.
  python -m bench.recipes --recipe now --recipe before [--device 0] [--real runs/realset/dataset.yaml]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from hwdetect.cli import UserError, cli
from hwdetect.config import params as P
from hwdetect.paths import ROOT, RUNS, VERIFIER
from hwdetect.synth.generate import generate, page_spec
from hwdetect.training import runtime

WORK = RUNS / "recipes"
BEFORE_LAYOUTS = {"iam_form": 0.5, "notebook": 0.15, "letter": 0.15, "form_fill": 0.2}
BEFORE_FONTS = ["dejavu-serif", "dejavu-sans", "dejavu-sans-bold", "dejavu-mono", "stix", "stix-bold", "pt-serif",
                "pt-serif-bold", "merriweather", "open-sans"]
# name → (synthetic overrides, layout weights changed, cpu-profile overrides). "before" is the previous default's
# layouts, fonts and schedule drawn by today's generator.
RECIPES = {
    "before": ({"layouts": BEFORE_LAYOUTS, "print_fonts": BEFORE_FONTS, "pages": 300}, {}, {"epochs": 40}),
    "now": ({}, {}, {}),
    "300x40": ({"pages": 300}, {}, {"epochs": 40}),
    "now-320": ({}, {}, {"imgsz": 320}),
    "iam-heavy": ({}, {"iam_form": 0.5}, {}),
    "print-class": ({}, {}, {}),
    "no-typed-fill": ({"typed_fill": 0.0}, {}, {}),
}
PRINT_CLASS = {"print-class"}  # recipes that also train on the generator's print boxes, as a second class


def recipe_params(p: dict, name: str) -> dict:
    synth, layouts, prof = RECIPES[name]
    p = copy.deepcopy(p)
    p["synthetic"].update(synth)
    p["synthetic"]["layouts"] = {**p["synthetic"]["layouts"], **layouts}
    p["profiles"]["cpu"].update(prof)
    return p


def build(p: dict, folder: Path, print_class: bool = False) -> Path:
    """Training and validation pages of the recipe, and their dataset.yaml."""
    s = p["synthetic"]
    spec = page_spec(s)
    generate(folder / "train", p["seed"], s["pages"], spec, s["workers"], print_labels=print_class)
    generate(folder / "val", p["seed"] + 7919, 60, spec, s["workers"], print_labels=print_class)
    data = folder / "dataset.yaml"
    data.write_text(f"path: {folder}\ntrain: train/images\nval: val/images\nnames:\n  0: handwriting\n"
                    + ("  1: print\n" if print_class else ""))
    return data


def train(p: dict, data: Path, folder: Path, device: str) -> tuple[Path, float]:
    from ultralytics import YOLO

    from hwdetect.training.trainer import ultralytics_args

    prof = dict(p["profiles"]["cpu"], device=device, **({"workers": 4} if device != "cpu" else {}))
    args = {**ultralytics_args("cpu", prof, p["seed"], data, folder / "run"), "plots": False}
    start = time.perf_counter()
    YOLO(prof["model"]).train(**args)
    return folder / "run" / "weights" / "best.pt", time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", action="append", choices=sorted(RECIPES), required=True)
    parser.add_argument("--device", default="cpu", help="cpu, or a CUDA index such as 0 (default: cpu)")
    parser.add_argument("--pages", type=int, default=60, help="pages per bench.transfer set (default: 60)")
    parser.add_argument("--real", type=Path, action="append", default=[], metavar="DATASET_YAML")
    a = parser.parse_args()
    os.chdir(ROOT)
    base = P.load()
    runtime.setup(base["train"]["threads"], base["train"]["cpu_isa"])
    for name in a.recipe:
        p = recipe_params(base, name)
        folder = (WORK / name).absolute()
        model, seconds = train(p, build(p, folder, name in PRINT_CLASS), folder, a.device)
        imgsz = p["profiles"]["cpu"]["imgsz"]
        print(json.dumps({"recipe": name, "train_seconds": round(seconds, 1), "imgsz": imgsz}), flush=True)
        command = [sys.executable, "-m", "bench.transfer", "--model", str(model), "--imgsz", str(imgsz),
                   "--pages", str(a.pages), *[arg for real in a.real for arg in ("--real", str(real))],
                   *(["--verifier", str(VERIFIER)] if VERIFIER.is_file() else ["--no-verifier"])]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise UserError(f"bench.transfer failed on {model}: {done.stderr.strip().splitlines()[-1:]}")
        table = done.stdout[done.stdout.index("| set |"):]
        (folder / "transfer.md").write_text(table)
        print(f"\n## {name} (imgsz {imgsz}, {seconds:.0f} s of training on {a.device})\n{table}", flush=True)


if __name__ == "__main__":
    cli(main)
