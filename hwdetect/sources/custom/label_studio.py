"""Label Studio's own exports: "JSON" (a list of tasks: `data.image` and `annotations[].result[]`, whose
rectanglelabels `value` holds x, y, width and height in percent of the image, beside `original_width` and
`original_height`) and "JSON-MIN" (one record per annotation, or one without `annotation_id` for a task without any: the task's data keys,
such as `image`, and the labelling control's name, such as `label`, holding the rectangles with their original
size).

Per task the latest annotation is used (the latest `updated_at`, then the last listed); cancelled ones are skipped,
and the boxes of the others are counted as not used. Images are matched by file name (images/ beside the JSON,
beside it, or at the top), whatever the URL (`/data/upload/1/1c8d6a8b-scan.jpg`, `/data/local-files/?d=...`),
with or without the upload prefix Label Studio gives a file. A rotated rectangle, and a region that is no
rectangle (polygon, ellipse, keypoint, brush), is dropped and counted."""
from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from hwdetect.cli import UserError, one_line
from hwdetect.files.walk import display
from hwdetect.sources.custom.coco import load_json
from hwdetect.sources.custom.labels import Box, Label, pair_key, positive_int
from hwdetect.sources.custom.locate import find_image, refuse_mostly_missing
from hwdetect.sources.images import IMAGE_SUFFIXES

FIX = "export the project again as Label Studio 'JSON'"


@dataclass
class Annotation:
    id: object
    stamp: str  # updated_at (or created_at): ISO times, which sort as text
    cancelled: bool
    regions: list[tuple[str, object]]  # (which result, its value with the original size)


def _need(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise UserError(f"{where}: {what}; {FIX}")


def image_name(url: str) -> str:
    """The file path in an image URL: `/data/local-files/?d=<path>`, `/data/upload/<project>/<name>`, any URL's
    path, or the value itself when it is a plain path."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # an unclosed [ of an IPv6 host, say
        return url
    if parts.query and (local := urllib.parse.parse_qs(parts.query).get("d")):
        return local[0]
    return urllib.parse.unquote(parts.path) if url.startswith("/") or "://" in url else url


def _image_url(data: dict, where: str) -> str:
    texts = {k: v for k, v in data.items() if isinstance(v, str)}
    url = texts.get("image") or next((v for v in texts.values() if Path(image_name(v)).suffix.lower()
                                      in IMAGE_SUFFIXES), None)
    _need(bool(url), where, f"no image URL in its data (keys: {one_line(', '.join(map(str, data)))[:80]})")
    return url


def _regions(results: object, where: str) -> list[tuple[str, object]]:
    _need(isinstance(results, list) and all(isinstance(r, dict) for r in results), where,
          "result must be a list of regions")
    return [(f"result {one_line(str(r.get('id')))[:20]}", {**r["value"], "original_width": r.get("original_width"),
                                                            "original_height": r.get("original_height")}
             if isinstance(r.get("value"), dict) else r.get("value"))
            for r in results if str(r.get("type", "")).endswith("labels") or r.get("type") == "rectangle"]


def _tasks(data: list, path: Path) -> list[tuple[str, str, list[Annotation]]]:
    """(where, image URL, annotations) per task, from either export."""
    tasks: dict[int | str, tuple[str, str, list[Annotation]]] = {}  # JSON: by entry; JSON-MIN: by task id
    full = all(isinstance(item, dict) and "data" in item for item in data)
    for number, item in enumerate(data, start=1):
        where = f"{display(path)}: entry {number}"
        _need(isinstance(item, dict), where, "not a task (a JSON object)")
        task_id = item.get("id", number)
        where = f"{display(path)}: task {one_line(str(task_id))[:20]}"
        if full:
            _need(isinstance(item["data"], dict), where, "data must be an object")
            annotations = item.get("annotations", item.get("completions")) or []
            _need(isinstance(annotations, list) and all(isinstance(a, dict) for a in annotations), where,
                  "annotations must be a list")
            found = [Annotation(a.get("id"), str(a.get("updated_at") or a.get("created_at") or ""),
                                bool(a.get("was_cancelled")), _regions(a.get("result") or [], where))
                     for a in annotations]
            tasks[number] = (where, _image_url(item["data"], where), found)
        else:  # JSON-MIN: one record per annotation; the regions are the lists of objects with a `...labels` key
            regions = [(f"{one_line(key)[:20]} {n}", value) for key, values in item.items() if isinstance(values, list)
                       and values and all(isinstance(v, dict) and any(str(k).endswith("labels") for k in v)
                                          for v in values) for n, value in enumerate(values, start=1)]
            entry = tasks.setdefault(one_line(str(task_id)), (where, _image_url(item, where), []))
            if item.get("annotation_id") is None and not regions:
                continue  # the record of a task without annotations
            entry[2].append(Annotation(item.get("annotation_id"), str(item.get("updated_at") or
                                                                      item.get("created_at") or ""), False, regions))
    return list(tasks.values())


def _number(value: dict, key: str, where: str, default: float | None = None) -> float:
    v = value.get(key, default)
    _need(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v), where,
          f"{key} must be a finite number, got {one_line(repr(v))[:40]}")
    return float(v)


def _boxes(value: object, where: str, reason: str) -> list[Box]:
    """The boxes of one region (one per label it carries); `reason` drops them all (an annotation not used)."""
    _need(isinstance(value, dict), where, "value must be an object")
    names = value.get("rectanglelabels", [] if "x" in value and "width" in value else None)
    if names is None:  # a polygon, an ellipse, a keypoint or a brush stroke
        kind = next((str(k) for k in value if str(k).endswith("labels")), None)
        _need(kind is not None, where, "a region with neither x, y, width, height nor rectanglelabels")
        shown = value.get(kind) if isinstance(value.get(kind), list) and value.get(kind) else ["(no label)"]
        return [Box(str(shown[0]), 0, 0, 0, 0, f"{where}: {kind}, not a rectangle", dropped=reason or "not_a_box")]
    _need(isinstance(names, list) and all(isinstance(n, str) for n in names), where,
          f"rectanglelabels must be a list of names, got {one_line(repr(names))[:40]}")
    x, y, w, h = (_number(value, k, where) for k in ("x", "y", "width", "height"))
    rotation = _number(value, "rotation", where, 0)
    if not reason and math.remainder(rotation, 360):
        where, reason = f"{where} (rotated {rotation:g}°)", "rotated"
    return [Box(name.strip(), x / 100, y / 100, (x + w) / 100, (y + h) / 100, where, dropped=reason)
            for name in names or ["(no label)"]]


def read_label_studio(path: Path, root: Path) -> list[Label]:
    """One Label per task; a task whose image is not found gets key "", one no one annotated is not `annotated`."""
    data = load_json(path, FIX)
    _need(isinstance(data, list), display(path), "not a Label Studio JSON export (a list of tasks)")
    bases = [path.parent / "images", path.parent, root, root / "images"]
    labels = []
    for where, url, annotations in _tasks(data, path):
        found = find_image(image_name(url), bases, root)
        used = [a for a in annotations if not a.cancelled]
        chosen = max(reversed(used), key=lambda a: a.stamp) if used else None  # the last listed of equal times
        label = Label(f"{where} ({one_line(url)[:120]})", pair_key(found, root) if found else "", normalized=True,
                      annotated=chosen is not None)
        for a in annotations:
            reason = "" if a is chosen else "cancelled_annotation" if a.cancelled else "older_annotation"
            for which, value in a.regions:
                label.boxes += _boxes(value, f"{where}: annotation {one_line(str(a.id))[:20]}: {which}", reason)
                if a is chosen and label.size is None and isinstance(value, dict):
                    w, h = (positive_int(str(value.get(k))) for k in ("original_width", "original_height"))
                    label.size = (w, h) if w and h else None
        if chosen is not None and len(annotations) > 1:
            others = ", ".join(f"{a.id}{' (cancelled)' if a.cancelled else ''}" for a in annotations if a is not chosen)
            label.problems.append(("several_annotations", one_line(
                f"{where}: {len(annotations)} annotations; the latest, {chosen.id} (updated {chosen.stamp or '?'}), "
                f"used; not used: {others}")))
        labels.append(label)
    refuse_mostly_missing(path, [label for label in labels if label.annotated], bases,
                          "copy the images into images/ beside it (Label Studio's exports hold no images: take them "
                          "from the folder it served them from, or from its media/upload/ folder)")
    return labels
