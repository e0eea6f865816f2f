"""Stage `preflight`: check params.yaml, this machine and the pretrained weights before any stage replaces outputs.

DVC removes a stage's outputs just before it runs the stage. Every stage depends on data/preflight.json, so a value
this check refuses (a typo, a GPU profile on a machine without CUDA, weights that cannot be fetched) stops
`dvc repro` or `dvc exp run` while every output is still in place. DVC keeps data/preflight.json (persist) when the
check fails; its content never changes, so passing the check re-runs nothing downstream. It is never restored from
the run cache: the check must run on the machine that trains.
"""
from __future__ import annotations

import argparse

from hwdetect import paths
from hwdetect.cli import cli, log
from hwdetect.config import params
from hwdetect.files.atomic import write_json
from hwdetect.training import runtime
from hwdetect.training.trainer import check_hardware, model_file

CHECKED = ["params.yaml: every key, type and bound", "the device and batch of train.profile on this machine",
           "the pretrained weights of train.profile (fetched once when missing)"]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog="Reads params.yaml: all of it.").parse_args()
    p = params.load()
    for warning in params.warnings(p):
        log.warning(f"warning: {warning}")
    name, prof = p["train"]["profile"], params.profile(p)
    runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    check_hardware(prof, name)
    model_file(name, prof, p["train"]["pretrained_dir"], p["train"]["weights_url"])
    write_json(paths.PREFLIGHT, {"checked": CHECKED})
    log.info(f"preflight: params.yaml and profile {name} are fine on this machine")


if __name__ == "__main__":
    cli(main)
