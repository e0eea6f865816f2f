"""Stage `evaluate`: score a detector on a labelled set and write an offline HTML report.

As a pipeline stage (no arguments) it scores models/detector/best.pt on the test split and writes
metrics/eval.json (precision, recall, F1, mAP50, mAP50-95, image and instance counts), reports/eval/ (report.html,
pr_curve.csv for `dvc plots`, confusion matrices, the worst test images by F1 with predictions in red and labels in
green) and metrics/timing/evaluate.json (ms per image: wall-clock figures stay out of git and dvc.lock).

Any model on any labelled set: `python -m stages.evaluate --model best.pt|best.onnx --data path/to/dataset.yaml`
writes the same files (metrics.json, report.html, ...) into --out (default runs/evaluate/<dataset folder>).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from hwdetect import paths
from hwdetect.cli import UserError, cli, log
from hwdetect.config import params
from hwdetect.evaluation.evaluate import DETECT_CONF, evaluate
from hwdetect.evaluation.report import headline
from hwdetect.training.runfiles import rounded
from hwdetect.files.atomic import write_json
from hwdetect.paths import shown
from hwdetect.training import runtime
from hwdetect.training.trainer import inference_settings
from hwdetect.verify.options import add_arguments, verifier_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog="Reads params.yaml: evaluate, "
                                     "train.profile, train.threads, train.cpu_isa, profiles.<train.profile>.")
    parser.add_argument("--model", type=Path, help="a .pt or .onnx detector (default: the pipeline's best.pt)")
    parser.add_argument("--data", type=Path, help="an Ultralytics dataset.yaml (default: the pipeline's split)")
    parser.add_argument("--split", default="test", help="which split of --data to score (default: test)")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/evaluate/<dataset folder>)")
    parser.add_argument("--imgsz", type=int, help="inference size (default: the training profile's imgsz)")
    parser.add_argument("--keep-conf", type=float, default=DETECT_CONF, help="lowest score of the boxes the error "
                        "breakdown counts, as predict --conf (default: %(default)s)")
    add_arguments(parser)
    a = parser.parse_args()
    if not 0 <= a.keep_conf < 1:
        raise UserError(f"--keep-conf {a.keep_conf}: expected a score in [0, 1), e.g. --keep-conf {DETECT_CONF}")
    p = params.load()
    prof, e = params.profile(p), p["evaluate"]
    device, batch = inference_settings(prof)
    settings = {"imgsz": a.imgsz or prof["imgsz"], "batch": batch, "device": device,
                "conf": e["conf"], "iou": e["iou"], "examples": e["examples"], "keep_conf": a.keep_conf}
    runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    name = p["train"]["profile"]
    runtime.check_device(prof["device"], f"params.yaml: profiles.{name}.device",
                         f"set profiles.{name}.device: cpu, or use the cpu profile (dvc exp run -S train.profile=cpu)")
    from hwdetect.verify.net import load

    model = (a.model or paths.MODEL).resolve()
    checker = verifier_path(model, a.verifier, a.no_verifier)
    verifier = load(checker) if checker else None
    log.info(f"evaluate: boxes checked by {shown(checker)}" if checker else "evaluate: no verifier, every box counts")
    if a.model is None and a.data is None and a.out is None and a.keep_conf == DETECT_CONF:
        metrics, speed = evaluate(paths.MODEL, paths.DATASET, "test", paths.EVAL_REPORT, paths.EVAL_RUN, settings,
                                  paths.TRAIN_RESULTS, verifier)
        write_json(paths.metrics_file("eval"), metrics)
        write_json(paths.timing_file("evaluate"), {"ms_per_image": rounded(speed, 2), "device": str(device)})
        where = shown(paths.EVAL_REPORT / "report.html")
    else:
        data = (a.data or paths.DATASET).resolve()
        out = (a.out or paths.RUNS / "evaluate" / data.parent.name).resolve()
        metrics, speed = evaluate(model, data, a.split, out, paths.EVAL_RUN, settings,
                                  paths.TRAIN_RESULTS if model == paths.MODEL else None, verifier)
        write_json(out / "metrics.json", {**metrics, "ms_per_image": rounded(speed, 2)})
        where = shown(out / "report.html")
    log.info(f"evaluate: {headline(metrics)}, {speed['inference']:.1f} ms/image inference; report {where}")


if __name__ == "__main__":
    cli(main)
