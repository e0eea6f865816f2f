"""Checks of single params.yaml values: each returns a complaint (one phrase, for the error line), or None."""
from __future__ import annotations

import math
from typing import Any, Callable

from hwdetect.config.registry import SOURCES, SPLITS

Check = Callable[[Any], str | None]  # returns a complaint, or None when the value is fine
WRITTEN = {"int": "a whole number", "int or float": "a number", "str": "a string", "bool": "true or false"}
MAX_IMGSZ = 4096  # 16x the cpu profile's size; beyond it one image outgrows any GPU


def type_(*types: type, low: float | None = None, high: float | None = None) -> Check:
    names = " or ".join(t.__name__ for t in types)

    span = " to ".join(f"{b:,}" for b in (low, high) if b is not None)
    span = span if low is not None and high is not None else f"{span} or more" if low is not None else f"at most {span}"

    def check(v: Any) -> str | None:
        if isinstance(v, bool) and bool not in types or not isinstance(v, types):
            return f"expected {names}, got {type(v).__name__} {v!r}; write {WRITTEN.get(names, names)}"
        if low is not None and v < low:
            return f"must be >= {low}, got {v!r}; use {span}"
        if high is not None and v > high:
            return f"must be <= {high:,}, got {v:,}; use {span}"
        return None
    return check


def number_in(low: float, high: float, open_low: bool = False, open_high: bool = False) -> Check:
    """A finite number in an interval, e.g. number_in(0, 1, open_high=True) for [0, 1)."""
    shown = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"

    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return f"expected a number in {shown}, got {type(v).__name__} {v!r}; write a number in that range"
        if v < low or v > high or open_low and v == low or open_high and v == high:
            return f"expected a number in {shown}, got {v!r}; set one in that range"
        return None
    return check


def image_size(v: Any) -> str | None:
    """A training size Ultralytics uses as given: it silently rounds other sizes up to a multiple of 32."""
    if problem := type_(int, low=32, high=MAX_IMGSZ)(v):
        return problem
    if v % 32:
        low, high = v // 32 * 32, (v // 32 + 1) * 32
        nearest = f"{low} or {high}" if low >= 32 else f"{high}"
        return f"{v} is not a multiple of 32 (Ultralytics would silently use {high}); use {nearest}"
    return None


def cache(v: Any) -> str | None:
    if v not in (False, True, "ram", "disk"):
        return f"expected false, true (= ram), ram or disk; got {v!r}"
    return None


def int_range(v: Any) -> str | None:
    ok = isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
    if not ok or not 1 <= v[0] <= v[1]:
        return f"expected [low, high] with 1 <= low <= high, got {v!r}"
    return None


def page_widths(v: Any) -> str | None:
    ok = isinstance(v, list) and v and all(isinstance(w, int) and not isinstance(w, bool) and 64 <= w <= 8192
                                           for w in v)
    return None if ok else (f"expected a list of page widths in pixels, each 64 to 8192, got {v!r}; e.g. "
                            f"[640, 1024, 1536]")


def unknown_name(names: Any, choices: tuple[str, ...], what: str = "name") -> str | None:
    bad = [x for x in names if x not in choices]
    return f"unknown {what} {bad[0]!r}; choose from: {', '.join(choices)}" if bad else None


def sources(v: Any) -> str | None:
    if not isinstance(v, list) or not v:
        return f"expected a non-empty list of sources from: {', '.join(SOURCES)}; got {v!r}"
    if problem := unknown_name(v, SOURCES, "source"):
        return problem
    return f"lists a source twice: {v!r}" if len(set(v)) != len(v) else None


def names(choices: tuple[str, ...]) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, list) or not v:
            return f"expected a non-empty list from: {', '.join(choices)}; got {v!r}"
        return unknown_name(v, choices)
    return check


def weights(choices: tuple[str, ...]) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, dict) or not v:
            return f"expected a mapping of names from {', '.join(choices)} to weights; got {v!r}"
        if problem := unknown_name(v, choices):
            return problem
        if any(isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < math.inf for w in v.values()) \
                or not sum(v.values()):
            return f"weights must be numbers >= 0, not all 0; got {v!r}"
        return None
    return check


def url(v: Any) -> str | None:
    if not isinstance(v, str) or not v.startswith(("http://", "https://")):
        return f"expected an http(s) URL (starting with https://); got {v!r}"
    return None


def str_list(v: Any) -> str | None:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        return f"expected a non-empty list of file names; got {v!r}"
    return None


def fraction(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
        return f"expected a number in (0, 1]; got {v!r}"
    return None


def choice(*choices: str) -> Check:
    def check(v: Any) -> str | None:
        return None if v in choices else f"expected one of {', '.join(choices)}; got {v!r}"
    return check


def class_map(v: Any) -> str | None:
    if not isinstance(v, dict) or not v or any(x not in ("handwriting", None) for x in v.values()):
        return f"expected a mapping of annotated class names to handwriting (or to null to drop them); got {v!r}"
    return None


def ratios(v: Any) -> str | None:
    if not isinstance(v, dict) or sorted(v) != sorted(SPLITS):
        return f"expected exactly the keys {', '.join(SPLITS)}; got {v!r}"
    if any(isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0 for x in v.values()):
        return f"ratios must be numbers >= 0; got {v!r}"
    if not math.isclose(sum(v.values()), 1.0, abs_tol=1e-6):
        return f"ratios must sum to 1, they sum to {sum(v.values()):g}"
    if any(v[s] <= 0 for s in SPLITS):
        return f"every split needs a ratio > 0 (training validates on val, evaluation uses test); got {v!r}"
    return None


def auto_batch(batch: Any) -> bool:
    """Whether a profile's batch leaves the size to Ultralytics (-1, or a fraction of GPU memory)."""
    return batch == -1 or isinstance(batch, float)


def batch_size(v: Any) -> str | None:
    """Images per batch, or Ultralytics auto-batch: -1 (about 60 % of GPU memory) or a fraction of GPU memory."""
    if isinstance(v, bool) or not (isinstance(v, int) and (v >= 1 or v == -1) or isinstance(v, float) and 0 < v < 1):
        return f"expected a number of images >= 1, -1 (auto-batch) or a fraction of GPU memory in (0, 1); got {v!r}"
    return None


def model_file(v: Any) -> str | None:
    if not isinstance(v, str) or not v.endswith((".yaml", ".pt")):
        return f"expected an architecture (*.yaml, e.g. yolov8n.yaml) or pretrained weights (*.pt); got {v!r}"
    return None


def sha256_hex(v: Any) -> str | None:
    if not isinstance(v, str) or len(v) != 64 or any(c not in "0123456789abcdef" for c in v):
        return f"expected the 64 lowercase hex digits of a sha256 (sha256sum FILE prints them); got {v!r}"
    return None


def gpu_indices(device: Any) -> list[int]:
    """The CUDA devices a profile's `device` names ([] for cpu or mps): 0, "0", "cuda:0", "0,1" or [0, 1]."""
    items = device if isinstance(device, list) else str(device).lower().removeprefix("cuda:").split(",")
    if items in (["cpu"], ["mps"]):
        return []
    return [int(str(x).strip()) for x in items]


def device(v: Any) -> str | None:
    """cpu, mps, a CUDA index, or several GPUs for Ultralytics DDP: "0,1" or [0, 1]."""
    try:
        indices = gpu_indices(v)
    except ValueError:
        indices = None
    ok = not isinstance(v, bool) and isinstance(v, (int, str, list)) and indices is not None
    if not ok or any(i < 0 for i in indices) or len(set(indices)) != len(indices) or (isinstance(v, list) and not v):
        return f"expected cpu, a CUDA device index such as 0, or several GPUs such as [0, 1]; got {v!r}"
    return None
