"""Stage `preflight`: check params.yaml, this machine and the pretrained weights before any stage replaces outputs.

DVC removes a stage's outputs just before it runs the stage. Every stage depends on data/preflight.json, so a value
this check refuses (a typo, a GPU profile on a machine without CUDA, weights that cannot be fetched) stops
`dvc repro` or `dvc exp run` while every output is still in place. DVC keeps data/preflight.json (persist) when the
check fails; its content never changes, so passing the check re-runs nothing downstream. It is never restored from
the run cache: the check must run on the machine that trains.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from hwdetect import paths
from hwdetect.cli import UserError, cli, log
from hwdetect.config import params
from hwdetect.config.architectures import checkpoint_problem
from hwdetect.files.atomic import write_json
from hwdetect.training import runtime
from hwdetect.training.trainer import check_hardware, model_file

CHECKED = ["params.yaml: every key, type and bound", "the device and batch of train.profile on this machine",
           "the pretrained weights of train.profile (fetched once when missing)"]


def let_git_see_params() -> None:
    """Make `git status` compare params.yaml's content again inside `dvc exp run`.

    `dvc exp run -S` writes params.yaml twice within a second and leaves git's index holding the old content with the
    size and time of the new file. When the value keeps its length (the aligned comments make that common) git trusts
    those and reports no change, so a refused or failed experiment's params.yaml would look clean. Moving the file's
    time a second past what the index holds makes git look at the content. The bytes are not touched.
    """
    if "DVC_EXP_BASELINE_REV" not in os.environ or not paths.PARAMS.is_file():
        return
    try:
        stat = paths.PARAMS.stat()
        os.utime(paths.PARAMS, ns=(stat.st_atime_ns, max(time.time_ns(), stat.st_mtime_ns + 1_000_000_000)))
    except OSError:
        pass  # a read-only checkout: git status is the only thing that loses


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog="Reads params.yaml: all of it.").parse_args()
    let_git_see_params()
    p = params.load()
    for warning in params.warnings(p):
        log.warning(f"warning: {warning}")
    name, prof = p["train"]["profile"], params.profile(p)
    runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    check_hardware(prof, name)
    model = model_file(name, prof, p["train"]["pretrained_dir"], p["train"]["weights_url"])
    if model.endswith(".pt") and (problem := checkpoint_problem(Path(model), prof["model"])):
        raise UserError(f"params.yaml: profiles.{name}.model: {problem}")
    write_json(paths.PREFLIGHT, {"checked": CHECKED})
    log.info(f"preflight: params.yaml and profile {name} are fine on this machine")


if __name__ == "__main__":
    cli(main)
