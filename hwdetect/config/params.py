"""Load params.yaml and check every key, type, bound and choice before any stage does work.

`python -m hwdetect.config.params` checks the file; it prints nothing when it is valid, or a warning with the
estimated disk and time of a large synthetic data set.
"""
from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

import yaml

from hwdetect.cli import UserError, cli
from hwdetect.config import volume
from hwdetect.config.checks import (class_map, choice, fraction, int_range, names, number_in, page_widths, ratios,
                                    sources, str_list, type_, url, weights)
from hwdetect.config.profiles import check_profiles
from hwdetect.config.registry import CPU_ISAS, CUSTOM_FORMATS, HANDS, LAYOUTS, PRINT_FONTS, SIGNATURE_FACES
from hwdetect.config.upstream import opset_range
from hwdetect.files.walk import read_text
from hwdetect.paths import PARAMS

MAX_INT = 2**53  # larger than any count here, and than JSON numbers (dvc params diff) hold exactly
WORKERS, UNIT = type_(int, low=0, high=256), number_in(0, 1)


def opset(v: Any) -> str | None:
    low, high = opset_range()
    return type_(int, low=low, high=high)(v) and (f"expected an ONNX opset from {low} to {high} (what Ultralytics "
                                                  f"and the installed torch export); got {v!r}")


SCHEMA: dict[str, Any] = {
    "seed": type_(int, low=0, high=2**32 - 1),  # numpy seeds are 32-bit
    "data": {"sources": sources},
    "synthetic": {"pages": type_(int, low=1, high=volume.MAX_PAGES), "width": type_(int, low=64, high=8192),
                  "height": type_(int, low=64, high=8192), "lines": int_range, "layouts": weights(LAYOUTS),
                  "hands": names(HANDS), "signatures": names(SIGNATURE_FACES),
                  "print_fonts": names(tuple(PRINT_FONTS)), "typed_fill": type_(int, float, low=0, high=1),
                  "contact_sheet": type_(int, low=1, high=64), "workers": WORKERS},
    "custom": {"dir": type_(str), "format": choice("auto", *CUSTOM_FORMATS), "classes": class_map,
               "unmapped": choice("drop", "error"), "out_of_bounds": choice("clip", "error"),
               "orientation": choice("displayed", "stored")},
    "split": {"ratios": ratios},
    "iam": {"base_url": url, "archives": str_list, "archives_dir": type_(str), "downscale": fraction,
            "workers": WORKERS},
    "train": {"profile": type_(str), "pretrained_dir": type_(str), "weights_url": url, "threads": WORKERS,
              "cpu_isa": choice(*CPU_ISAS)},
    "profiles": None,  # checked by hwdetect/config/profiles.py
    "evaluate": {"conf": number_in(0, 1, open_high=True), "iou": number_in(0, 1, open_low=True),
                 "examples": type_(int, low=0, high=100)},
    "verifier": {"pages": type_(int, low=1, high=volume.MAX_PAGES), "val_pages": type_(int, low=1, high=100000),
                 "printed_items": type_(int, low=0, high=1000),
                 "widths": page_widths, "epochs": type_(int, low=1, high=1000), "batch": type_(int, low=1, high=65536),
                 "lr": number_in(0, 1, open_low=True), "threshold": number_in(0, 1, open_high=True),
                 "snap": type_(bool), "split": type_(bool),
                 "close_look": {"zoom": type_(int, low=1, high=8), "max_height": type_(int, float, low=0, high=4096),
                                "margin": number_in(0, 1)}},
    "export": {"opset": opset, "max_map_drop": UNIT, "max_output_diff": UNIT},
}


class _Lines:
    """Line numbers of the keys in a YAML document, for error messages; refuses what `dvc exp run -S` (ruamel)
    cannot round-trip: a key twice, anchors and aliases, tags."""

    def __init__(self, text: str, file: Path):
        self.lines: dict[tuple[str, ...], int] = {}
        self.file = file
        for event in yaml.parse(text):
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise UserError(f"{file.name}:{line}: YAML anchors and aliases (&name, *name) are not supported: "
                                f"`dvc exp run -S` would change one copy only; write the value out in full")
            if getattr(event, "tag", None) and event.tag != "!":
                raise UserError(f"{file.name}:{line}: YAML tag {event.tag!r} is not allowed; write a plain value")
        self._walk(yaml.compose(text), ())

    def _walk(self, node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                where, line = path + (str(key.value),), key.start_mark.line + 1
                if where in self.lines:
                    raise UserError(f"{self.file.name}:{line}: {'.'.join(where)}: appears twice (also on line "
                                    f"{self.lines[where]}); keep one")
                self.lines[where] = line
                self._walk(value, where)

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


def _check_numbers(value: Any, path: tuple[str, ...], file: Path, lines: _Lines) -> None:
    """No .nan or .inf anywhere, and no integer too large to be a count."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        _check_numbers(item, path + (str(key),) if isinstance(value, dict) else path, file, lines)
    if isinstance(value, float) and not abs(value) < float("inf"):
        raise _fail(file, lines, path, f"{value} is not a finite number; write a number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise _fail(file, lines, path, f"{value:.3g} is far too large; write a count this pipeline can use")


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


def _check_synthetic(params: dict, file: Path, lines: _Lines) -> None:
    s = params["synthetic"]
    if s["contact_sheet"] > s["pages"]:
        raise _fail(file, lines, ("synthetic", "contact_sheet"), f"{s['contact_sheet']} sample pages but only "
                    f"{s['pages']} are generated; use at most synthetic.pages (the sheet is a plot in dvc.yaml)")
    if "synthetic" in params["data"]["sources"]:
        room = volume.room_problem(s["pages"], s["width"], s["height"], file.resolve().parent / "data")
        if room:
            raise _fail(file, lines, ("synthetic", "pages"), room)


def _read(file: Path) -> str:
    if not file.exists():
        raise UserError(f"{file}: not found; run from the project root")
    return read_text(file, "it must be the params file")


def load(file: Path | str = PARAMS) -> dict[str, Any]:
    """Read and validate the whole params file; raise UserError naming the key and line on any mistake."""
    file = Path(file)
    text = _read(file)
    try:
        lines = _Lines(text, file)
        params = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", err)
        raise UserError(f"{file.name}{where}: not valid YAML ({problem}); fix the syntax") from None
    if not isinstance(params, dict):
        shown = "empty" if params is None else f"a {type(params).__name__}"
        raise UserError(f"{file.name}: {shown}, not a mapping of parameters; restore it (git restore params.yaml)")
    _check_numbers(params, (), file, lines)
    _check_tree(params, SCHEMA, (), file, lines)
    check_profiles(params, lambda path, message: _fail(file, lines, path, message),
                   lambda path, key, valid: _unknown(file, lines, path, key, valid))
    _check_synthetic(params, file, lines)
    return params


def warnings(params: dict[str, Any], file: Path | str = PARAMS) -> list[str]:
    """One line for each valid value that is costly: a large synthetic data set, with its estimated size and time."""
    file, s = Path(file), params["synthetic"]
    if "synthetic" not in params["data"]["sources"] or not volume.is_large(s["pages"], s["width"], s["height"]):
        return []
    where = f"{file.name}{_Lines(_read(file), file)(('synthetic', 'pages'))}"
    return [f"{where}: synthetic.pages: {volume.cost(s['pages'], s['width'], s['height'], s['workers'])}"]


def profile(params: dict[str, Any]) -> dict[str, Any]:
    """The selected hardware profile, as a fresh dict."""
    return dict(params["profiles"][params["train"]["profile"]])


def main() -> None:
    import argparse

    argparse.ArgumentParser(description="Check params.yaml: exits 0 when it is valid (with a warning for a large "
                                        "synthetic data set), else one line naming the line and key.").parse_args()
    params = load()
    for warning in warnings(params):
        print(f"warning: {warning}", file=sys.stderr)


if __name__ == "__main__":
    cli(main)
