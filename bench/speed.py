"""Speed figures: the generator's pages per second, the train stage's epoch time against plain
`yolo detect train` with the same data and arguments (target: the stage at least 1.5x faster), and the cost of the
AVX2 pin (train.cpu_isa: AVX2) against the CPU's native instruction set on this machine.

Run from the project root after `dvc repro split`: `make bench` or `python -m bench.speed [--epochs N]`.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hwdetect import paths
from hwdetect.config import params as P
from hwdetect.paths import ROOT

BENCH_DIR = paths.RUNS / "bench"


def generator_pages_per_second(pages: int) -> float:
    from hwdetect.synth.generate import generate, page_spec

    spec = page_spec(P.load()["synthetic"])
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generate(Path(tmp) / "pages", 0, pages, spec)
        return pages / (time.perf_counter() - start)


def epoch_seconds(run_dir: Path) -> float:
    """Mean epoch time after the first (which also builds caches), from results.csv's cumulative time."""
    with (run_dir / "results.csv").open() as f:
        times = [float(r["time"]) for r in csv.DictReader(f)]
    return (times[-1] - times[0]) / (len(times) - 1)


def stage_args(p: dict, save_dir: Path) -> tuple[str, dict]:
    """The model file and Ultralytics arguments the train stage uses, with another run folder."""
    from hwdetect.training.trainer import model_file, ultralytics_args

    name, prof = p["train"]["profile"], P.profile(p)
    args = ultralytics_args(name, prof, p["seed"], paths.DATASET, save_dir)
    return model_file(name, prof, p["train"]["pretrained_dir"], p["train"]["weights_url"]), args


def train_stage_run(epochs: int) -> None:
    """The train stage's own set-up and arguments, in a bench folder."""
    from hwdetect.training import runtime

    p = P.load()
    runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    from ultralytics import YOLO

    model_file, args = stage_args(p, BENCH_DIR / "stage")
    YOLO(model_file).train(**{**args, "epochs": epochs, "plots": False})


def plain_yolo_run(epochs: int) -> None:
    """`yolo detect train` as a user would type it, with the same arguments and no pipeline set-up."""
    model_file, args = stage_args(P.load(), BENCH_DIR / "plain")
    args = {**args, "epochs": epochs, "plots": False}
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "ONEDNN_MAX_CPU_ISA")}
    env.update(YOLO_OFFLINE="1", YOLO_CONFIG_DIR=str(paths.ULTRALYTICS_CONFIG))
    yolo = Path(sys.executable).with_name("yolo")
    subprocess.run([str(yolo), "detect", "train", f"model={model_file}", *(f"{k}={v}" for k, v in args.items())],
                   check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per training run (first one is not timed)")
    parser.add_argument("--pages", type=int, default=300, help="pages for the generator figure")
    parser.add_argument("--only", choices=["generator", "train", "isa"], help="run one part only")
    parser.add_argument("--stage-run", type=int, help=argparse.SUPPRESS)
    a = parser.parse_args()
    os.chdir(ROOT)
    if a.stage_run:
        return train_stage_run(a.stage_run)
    figures = {}
    if a.only in (None, "generator"):
        figures["generator_pages_per_second"] = round(generator_pages_per_second(a.pages), 1)
        print(f"generator: {figures['generator_pages_per_second']} pages/s on {os.cpu_count()} cores")
    if a.only in (None, "train"):
        if not paths.DATASET.exists():
            sys.exit("error: data/split/dataset.yaml: missing; run `dvc repro split` first")
        shutil.rmtree(BENCH_DIR, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "bench.speed", "--stage-run", str(a.epochs)], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        plain_yolo_run(a.epochs)
        stage, plain = epoch_seconds(BENCH_DIR / "stage"), epoch_seconds(BENCH_DIR / "plain")
        figures.update(stage_epoch_seconds=round(stage, 2), plain_yolo_epoch_seconds=round(plain, 2),
                       speedup=round(plain / stage, 2))
        print(f"train epoch: stage {stage:.1f} s, plain `yolo detect train` {plain:.1f} s → {plain / stage:.2f}x faster")
    if a.only in (None, "isa"):
        if not paths.DATASET.exists():
            sys.exit("error: data/split/dataset.yaml: missing; run `dvc repro split` first")
        seconds = {}
        for isa, value in (("AVX2", "AVX2"), ("native", "ALL")):
            shutil.rmtree(BENCH_DIR / "stage", ignore_errors=True)
            subprocess.run([sys.executable, "-m", "bench.speed", "--stage-run", str(a.epochs)], check=True, cwd=ROOT,
                           stdout=subprocess.DEVNULL, env={**os.environ, "ONEDNN_MAX_CPU_ISA": value})
            seconds[isa] = epoch_seconds(BENCH_DIR / "stage")
        figures.update(avx2_epoch_seconds=round(seconds["AVX2"], 2), native_epoch_seconds=round(seconds["native"], 2),
                       avx2_pin_cost=round(seconds["AVX2"] / seconds["native"], 2))
        print(f"train epoch: AVX2 pin {seconds['AVX2']:.1f} s, native {seconds['native']:.1f} s → the pin costs "
              f"{seconds['AVX2'] / seconds['native']:.2f}x on this CPU")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
