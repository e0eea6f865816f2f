"""Load params.yaml and check every key, type and choice before any stage does work.

`python -m hwdetect.config.params` checks the file and prints nothing when it is valid.
"""
from __future__ import annotations

import difflib
import sys
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from hwdetect.cli import UserError, cli
from hwdetect.config.checks import (Check, auto_batch, batch_size, choice, class_map, device, fraction, gpu_indices, int_range,
                                    model_file, names, ratios, sha256_hex, sources, str_list, type_, url, weights)
from hwdetect.config.registry import CPU_ISAS, CUSTOM_FORMATS, HANDS, LAYOUTS, PRETRAINED, PRINT_FONTS
from hwdetect.paths import PARAMS

PROFILE_REQUIRED = ("model", "epochs", "batch", "imgsz", "device")
OPTIMIZERS = ("auto", "SGD", "MuSGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSprop")  # Ultralytics' names

INT, POS_INT, NUM = type_(int, low=0), type_(int, low=1), type_(int, float, low=0)
SCHEMA: dict[str, Any] = {
    "seed": INT,
    "data": {"sources": sources},
    "synthetic": {"pages": POS_INT, "width": type_(int, low=64), "height": type_(int, low=64),
                  "lines": int_range, "layouts": weights(LAYOUTS), "hands": names(HANDS),
                  "print_fonts": names(tuple(PRINT_FONTS)), "contact_sheet": INT, "workers": INT},
    "custom": {"dir": type_(str), "format": choice("auto", *CUSTOM_FORMATS), "classes": class_map,
               "unmapped": choice("drop", "error"), "out_of_bounds": choice("clip", "error"),
               "orientation": choice("displayed", "stored")},
    "split": {"ratios": ratios},
    "iam": {"base_url": url, "archives": str_list, "archives_dir": type_(str), "downscale": fraction,
            "workers": INT},
    "train": {"profile": type_(str), "pretrained_dir": type_(str), "weights_url": url, "threads": INT,
              "cpu_isa": choice(*CPU_ISAS)},
    "profiles": None,  # checked by _check_profiles
    "evaluate": {"conf": NUM, "iou": NUM, "examples": INT},
    "export": {"opset": POS_INT, "max_map_drop": NUM, "max_output_diff": NUM},
}
PROFILE_TYPES: dict[str, Check] = {
    "model": model_file, "model_sha256": sha256_hex, "epochs": POS_INT, "batch": batch_size,
    "imgsz": type_(int, low=32), "device": device, "amp": type_(bool), "workers": INT, "accumulate": POS_INT,
    "patience": POS_INT, "lr0": type_(int, float, low=0), "optimizer": choice(*OPTIMIZERS),
}
PROFILE_EXTRA = {"accumulate", "model_sha256"}  # profile keys that are not Ultralytics train arguments


@lru_cache
def ultralytics_keys() -> frozenset[str]:
    """Train arguments Ultralytics accepts, read from its default.yaml without importing it (import is slow)."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the ultralytics package is not installed; run `make repro` or `pip install -r requirements.txt`")
    default = Path(spec.submodule_search_locations[0]) / "cfg" / "default.yaml"
    return frozenset(yaml.safe_load(default.read_text()))


class _Lines:
    """Line numbers of the keys in a YAML document, for error messages."""

    def __init__(self, text: str):
        self.lines: dict[tuple[str, ...], int] = {}
        self._walk(yaml.compose(text), ())

    def _walk(self, node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.lines[path + (key.value,)] = key.start_mark.line + 1
                self._walk(value, path + (key.value,))

    def __call__(self, path: tuple[str, ...]) -> str:
        while path and path not in self.lines:
            path = path[:-1]
        return f":{self.lines[path]}" if path else ""


def _fail(file: Path, lines: _Lines, path: tuple[str, ...], message: str) -> UserError:
    return UserError(f"{file.name}{lines(path)}: {'.'.join(path)}: {message}")


def _unknown(file: Path, lines: _Lines, path: tuple[str, ...], key: str, valid: list[str]) -> UserError:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    shown = ", ".join(valid) if len(valid) <= 12 else "see docs.ultralytics.com/usage/cfg"
    return _fail(file, lines, path + (key,), f"unknown key; {hint}valid keys: {shown}")


def _check_tree(params: dict, schema: dict, path: tuple[str, ...], file: Path, lines: _Lines) -> None:
    for key in params:
        if key not in schema:
            raise _unknown(file, lines, path, str(key), list(schema))
    for key, check in schema.items():
        where = path + (key,)
        if key not in params:
            raise _fail(file, lines, where, "missing; add it (see the comments in params.yaml for its meaning)")
        if isinstance(check, dict):
            if not isinstance(params[key], dict):
                raise _fail(file, lines, where, f"expected a mapping with keys {', '.join(check)}")
            _check_tree(params[key], check, where, file, lines)
        elif check is not None and (problem := check(params[key])):
            raise _fail(file, lines, where, problem)


def _check_profiles(params: dict, file: Path, lines: _Lines) -> None:
    profiles = params["profiles"]
    if not isinstance(profiles, dict) or not profiles:
        raise _fail(file, lines, ("profiles",), "expected a mapping of profile names to Ultralytics train arguments")
    chosen = params["train"]["profile"]
    if chosen not in profiles:
        raise _fail(file, lines, ("train", "profile"), f"unknown profile {chosen!r}; choose one of: {', '.join(profiles)}")
    valid = sorted(ultralytics_keys() | PROFILE_EXTRA)
    for name, profile in profiles.items():
        where = ("profiles", str(name))
        if not isinstance(profile, dict):
            raise _fail(file, lines, where, "expected a mapping of Ultralytics train arguments")
        for key, value in profile.items():
            if key not in valid:
                raise _unknown(file, lines, where, str(key), valid)
            if key in PROFILE_TYPES and (problem := PROFILE_TYPES[key](value)):
                raise _fail(file, lines, where + (key,), problem)
        missing = [k for k in PROFILE_REQUIRED if k not in profile]
        if missing:
            raise _fail(file, lines, where, f"missing {', '.join(missing)}; every profile needs {', '.join(PROFILE_REQUIRED)}")
        if profile["model"].endswith(".pt") and "model_sha256" not in profile:
            known = PRETRAINED.get(Path(profile["model"]).name)
            hint = f"for Ultralytics' {Path(profile['model']).name} it is {known}" if known else "sha256sum prints it"
            raise _fail(file, lines, where + ("model_sha256",),
                        f"missing; pretrained weights are pinned by their sha256 ({hint})")
        gpus, batch = len(gpu_indices(profile["device"])), profile["batch"]
        if gpus > 1 and (auto_batch(batch) or batch % gpus):
            raise _fail(file, lines, where + ("batch",),
                        f"{batch} does not split over the {gpus} GPUs of device {profile['device']!r}: on several GPUs "
                        f"the batch is split evenly (no auto-batch); use a multiple of {gpus}")
        if profile.get("accumulate", 1) != 1 and auto_batch(batch):
            raise _fail(file, lines, where + ("accumulate",),
                        f"must be 1 with batch {profile['batch']} (auto-batch): Ultralytics picks the batch and "
                        f"steps the optimizer every 64 images")


def load(file: Path | str = PARAMS) -> dict[str, Any]:
    """Read and validate the whole params file; raise UserError naming the key and line on any mistake."""
    file = Path(file)
    try:
        text = file.read_text()
        params = yaml.safe_load(text)
        lines = _Lines(text)
    except FileNotFoundError:
        raise UserError(f"{file}: not found; run from the project root") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{file.name}{where}: not valid YAML ({getattr(err, 'problem', err)}); fix the syntax") from None
    if not isinstance(params, dict):
        raise UserError(f"{file.name}: expected a mapping of parameters at the top level")
    _check_tree(params, SCHEMA, (), file, lines)
    _check_profiles(params, file, lines)
    return params


def ignored_values(params: dict[str, Any], profiles: list[str], file: Path | str = PARAMS) -> list[str]:
    """One line for each profile value Ultralytics would ignore: lr0 and momentum under `optimizer: auto`."""
    file = Path(file)
    lines, found = _Lines(file.read_text()), []
    for name in profiles:
        prof = params["profiles"][name]
        if str(prof.get("optimizer", "auto")).lower() != "auto":
            continue
        for key in ("lr0", "momentum"):
            if key in prof:
                where = f"{file.name}{lines(('profiles', name, key))}"
                found.append(f"{where}: profiles.{name}.{key} is ignored: with optimizer auto (the default) "
                             f"Ultralytics picks its own; set profiles.{name}.optimizer: AdamW (or SGD) to use it")
    return found


def profile(params: dict[str, Any]) -> dict[str, Any]:
    """The selected hardware profile, as a fresh dict."""
    return dict(params["profiles"][params["train"]["profile"]])


def main() -> None:
    import argparse

    argparse.ArgumentParser(description="Check params.yaml: exits 0 when it is valid (printing a warning "
                                        "for each value Ultralytics would ignore), else one line naming the line and "
                                        "key.").parse_args()
    params = load()
    for warning in ignored_values(params, list(params["profiles"])):
        print(f"warning: {warning}", file=sys.stderr)


if __name__ == "__main__":
    cli(main)
