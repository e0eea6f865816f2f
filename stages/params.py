"""Load params.yaml and check every key, type and choice before any stage does work.

`python -m stages.params` checks the file and prints nothing when it is valid.
"""
from __future__ import annotations

import difflib
import importlib.util
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import yaml

from stages.common import ROOT, UserError, cli
from stages.choices import CUSTOM_FORMATS, HANDS, LAYOUTS, PRINT_FONTS

PARAMS_FILE = ROOT / "params.yaml"
SOURCES = ("synthetic", "iam", "custom")
SPLITS = ("train", "val", "test")
PROFILE_REQUIRED = ("model", "epochs", "batch", "imgsz", "device")
Check = Callable[[Any], str | None]  # returns a complaint, or None when the value is fine


def _type(*types: type, low: float | None = None) -> Check:
    names = " or ".join(t.__name__ for t in types)

    def check(v: Any) -> str | None:
        if isinstance(v, bool) and bool not in types or not isinstance(v, types):
            return f"expected {names}, got {type(v).__name__} {v!r}"
        if low is not None and v < low:
            return f"must be >= {low}, got {v!r}"
        return None
    return check


def _int_range(v: Any) -> str | None:
    ok = isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
    if not ok or not 1 <= v[0] <= v[1]:
        return f"expected [low, high] with 1 <= low <= high, got {v!r}"
    return None


def _unknown_name(names: Any, choices: tuple[str, ...], what: str = "name") -> str | None:
    bad = [x for x in names if x not in choices]
    return f"unknown {what} {bad[0]!r}; choose from: {', '.join(choices)}" if bad else None


def _sources(v: Any) -> str | None:
    if not isinstance(v, list) or not v:
        return f"expected a non-empty list of sources from: {', '.join(SOURCES)}; got {v!r}"
    if problem := _unknown_name(v, SOURCES, "source"):
        return problem
    return f"lists a source twice: {v!r}" if len(set(v)) != len(v) else None


def _names(choices: tuple[str, ...]) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, list) or not v:
            return f"expected a non-empty list from: {', '.join(choices)}; got {v!r}"
        return _unknown_name(v, choices)
    return check


def _weights(choices: tuple[str, ...]) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, dict) or not v:
            return f"expected a mapping of names from {', '.join(choices)} to weights; got {v!r}"
        if problem := _unknown_name(v, choices):
            return problem
        if any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 for w in v.values()) or not sum(v.values()):
            return f"weights must be numbers >= 0, not all 0; got {v!r}"
        return None
    return check


def _url(v: Any) -> str | None:
    if not isinstance(v, str) or not v.startswith(("http://", "https://")):
        return f"expected an http(s) URL such as https://fki.tic.heia-fr.ch; got {v!r}"
    return None


def _str_list(v: Any) -> str | None:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        return f"expected a non-empty list of file names; got {v!r}"
    return None


def _fraction(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
        return f"expected a number in (0, 1]; got {v!r}"
    return None


def _choice(*choices: str) -> Check:
    def check(v: Any) -> str | None:
        return None if v in choices else f"expected one of {', '.join(choices)}; got {v!r}"
    return check


def _class_map(v: Any) -> str | None:
    if not isinstance(v, dict) or not v or any(x not in ("handwriting", None) for x in v.values()):
        return f"expected a mapping of annotated class names to handwriting (or to null to drop them); got {v!r}"
    return None


def _ratios(v: Any) -> str | None:
    if not isinstance(v, dict) or sorted(v) != sorted(SPLITS):
        return f"expected exactly the keys {', '.join(SPLITS)}; got {v!r}"
    if any(isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0 for x in v.values()):
        return f"ratios must be numbers >= 0; got {v!r}"
    if not math.isclose(sum(v.values()), 1.0, abs_tol=1e-6):
        return f"ratios must sum to 1, they sum to {sum(v.values()):g}"
    if any(v[s] <= 0 for s in SPLITS):
        return f"every split needs a ratio > 0 (training validates on val, evaluation uses test); got {v!r}"
    return None


INT, POS_INT, NUM = _type(int, low=0), _type(int, low=1), _type(int, float, low=0)
SCHEMA: dict[str, Any] = {
    "seed": INT,
    "data": {"sources": _sources},
    "synthetic": {"pages": POS_INT, "width": _type(int, low=64), "height": _type(int, low=64),
                  "lines": _int_range, "layouts": _weights(LAYOUTS), "hands": _names(HANDS),
                  "print_fonts": _names(PRINT_FONTS), "contact_sheet": INT, "workers": INT},
    "custom": {"dir": _type(str), "format": _choice("auto", *CUSTOM_FORMATS), "classes": _class_map,
               "unmapped": _choice("drop", "error"), "out_of_bounds": _choice("clip", "error"),
               "orientation": _choice("displayed", "stored")},
    "split": {"ratios": _ratios},
    "iam": {"base_url": _url, "archives": _str_list, "archives_dir": _type(str), "downscale": _fraction,
            "workers": INT},
    "train": {"profile": _type(str), "pretrained_dir": _type(str), "threads": INT},
    "profiles": None,  # checked by _check_profiles
    "evaluate": {"conf": NUM, "iou": NUM, "examples": INT},
    "export": {"opset": POS_INT, "max_map_drop": NUM, "max_output_diff": NUM},
}
PROFILE_TYPES: dict[str, Check] = {
    "model": _type(str), "epochs": POS_INT, "batch": POS_INT, "imgsz": _type(int, low=32),
    "device": _type(str, int), "amp": _type(bool), "workers": INT, "accumulate": POS_INT,
}


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
    valid = sorted(ultralytics_keys() | {"accumulate"})
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


def load(file: Path | str = PARAMS_FILE) -> dict[str, Any]:
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


def profile(params: dict[str, Any]) -> dict[str, Any]:
    """The selected hardware profile, as a fresh dict."""
    return dict(params["profiles"][params["train"]["profile"]])


def main() -> None:
    import argparse

    argparse.ArgumentParser(description="Check params.yaml: prints nothing and exits 0 when it is valid, "
                                        "else one line naming the line and key.").parse_args()
    load()


if __name__ == "__main__":
    cli(main)
