"""Check params.yaml `profiles`: every key a train argument Ultralytics accepts with a value it accepts, and no value
it would silently ignore or change with this pipeline's set-up."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from hwdetect.cli import UserError
from hwdetect.config.architectures import architecture_problem, weights_name_problem
from hwdetect.config.checks import (Check, auto_batch, batch_size, cache, choice, device, gpu_indices, image_size,
                                    model_file, sha256_hex, type_)
from hwdetect.config.registry import PRETRAINED
from hwdetect.config.upstream import ultralytics_keys, ultralytics_problem

Fail = Callable[[tuple[str, ...], str], UserError]  # (dotted key path, complaint) -> the one-line error
Unknown = Callable[[tuple[str, ...], str, list[str]], UserError]  # (parent path, key, valid keys) -> the error

PROFILE_REQUIRED = ("model", "epochs", "batch", "imgsz", "device")
OPTIMIZERS = ("auto", "SGD", "MuSGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSprop")  # Ultralytics' names
MAX_EPOCHS, MAX_WORKERS = 10_000, 256
PROFILE_TYPES: dict[str, Check] = {
    "model": model_file, "sha256": sha256_hex, "epochs": type_(int, low=1, high=MAX_EPOCHS), "batch": batch_size,
    "imgsz": image_size, "device": device, "amp": type_(bool), "workers": type_(int, low=0, high=MAX_WORKERS),
    "accumulate": type_(int, low=1, high=1024), "patience": type_(int, low=1, high=MAX_EPOCHS),
    "lr0": type_(int, float, low=0), "optimizer": choice(*OPTIMIZERS), "cache": cache,
    "close_mosaic": type_(int, low=0, high=MAX_EPOCHS),
}
PROFILE_EXTRA = {"accumulate", "sha256"}  # profile keys that are not Ultralytics train arguments
# Train arguments the pipeline sets itself (the train stage would overwrite or trip over a profile's value).
PIPELINE_KEYS = {"data": "the split stage's data/split/dataset.yaml", "seed": "the top-level `seed`",
                 "project": "runs/train", "name": "runs/train", "resume": "`python -m stages.train --resume`",
                 "task": "detect", "mode": "train", "cfg": "params.yaml itself"}


def check_profiles(params: dict[str, Any], fail: Fail, unknown: Unknown) -> None:
    profiles = params["profiles"]
    if not isinstance(profiles, dict) or not profiles:
        raise fail(("profiles",), "expected a mapping of profile names to Ultralytics train arguments")
    chosen = params["train"]["profile"]
    if chosen not in profiles:
        raise fail(("train", "profile"), f"unknown profile {chosen!r}; choose one of: {', '.join(map(str, profiles))}")
    valid = sorted(ultralytics_keys() | PROFILE_EXTRA)
    for name, profile in profiles.items():
        where = ("profiles", str(name))
        if not isinstance(profile, dict):
            raise fail(where, "expected a mapping of Ultralytics train arguments")
        for key, value in profile.items():
            if key not in valid:
                raise unknown(where, str(key), valid)
            if key in PIPELINE_KEYS:
                raise fail(where + (key,), f"set by the pipeline (to {PIPELINE_KEYS[key]}); remove it from the profile")
            if problem := (PROFILE_TYPES[key](value) if key in PROFILE_TYPES else None) or \
                    ultralytics_problem(key, value):
                raise fail(where + (key,), problem)
        missing = [k for k in PROFILE_REQUIRED if k not in profile]
        if missing:
            raise fail(where, f"missing {', '.join(missing)}; every profile needs {', '.join(PROFILE_REQUIRED)}")
        _check_combinations(str(name), profile, fail)


def _check_combinations(name: str, profile: dict[str, Any], fail: Fail) -> None:
    where, model = ("profiles", name), profile["model"]
    if problem := architecture_problem(model) if model.endswith(".yaml") else weights_name_problem(model):
        raise fail(where + ("model",), problem)
    if profile["model"].endswith(".pt") and "sha256" not in profile:
        known = PRETRAINED.get(Path(profile["model"]).name)
        hint = f"for Ultralytics' {Path(profile['model']).name} it is {known}" if known else "sha256sum prints it"
        raise fail(where + ("sha256",), f"missing; pretrained weights are pinned by their sha256 ({hint})")
    gpus, batch = len(gpu_indices(profile["device"])), profile["batch"]
    if gpus > 1 and (auto_batch(batch) or batch % gpus):
        raise fail(where + ("batch",), f"{batch} does not split over the {gpus} GPUs of device {profile['device']!r}: "
                                       f"on several GPUs the batch is split evenly (no auto-batch); use a multiple "
                                       f"of {gpus}")
    if profile.get("accumulate", 1) != 1 and auto_batch(batch):
        raise fail(where + ("accumulate",), f"must be 1 with batch {batch} (auto-batch): Ultralytics picks the batch "
                                            f"and steps the optimizer every 64 images")
    if str(profile.get("optimizer", "auto")).lower() == "auto":
        for key in ("lr0", "momentum"):
            if key in profile:
                raise fail(where + (key,), f"ignored: with optimizer auto (the default) Ultralytics picks its own; "
                                           f"set profiles.{name}.optimizer: AdamW (or SGD) to use it, or remove {key}")
    if profile.get("amp") is True and not gpus:
        raise fail(where + ("amp",), f"mixed precision needs a CUDA GPU, and Ultralytics turns it off on device "
                                     f"{profile['device']!r} without saying so; set amp: false (or a GPU device)")
