"""Your own annotated documents, converted into a data source (images/, labels/, groups.csv, report.json).

Accepts YOLO txt (labelImg, Roboflow "YOLOv8", CVAT "YOLO 1.1"), Pascal VOC XML (labelImg) and COCO JSON (CVAT,
Label Studio, Roboflow); formats.py says where each file is looked for. Class names map to handwriting
through custom.classes. A photo with an EXIF orientation is written turned as viewers show it, with its boxes in the
same frame. Writes images/, labels/ (YOLO, 6 decimals), groups.csv (an image's sub-folder, or its own name when at
the top; split folders such as train/ do not count) and report.json, which lists each problem naming its file.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from hwdetect.cli import UserError
from hwdetect.files.atomic import atomic_dir, write_json
from hwdetect.files.walk import visible_files
from hwdetect.files.yolo_labels import format_boxes
from hwdetect.paths import shown
from hwdetect.sources.custom.duplicates import same_pages
from hwdetect.sources.custom.formats import detect_format, is_image, read_labels
from hwdetect.sources.custom.labels import Box, Label, pair_key
from hwdetect.sources.images import UnreadableImage, displayed_box, displayed_size, open_image, write_displayed

DEFAULT_CLASSES = {"handwriting": "handwriting", "handwritten": "handwriting", "text_hw": "handwriting"}
SETTINGS = ("format", "unmapped", "out_of_bounds", "orientation")
PROBLEMS = ("images_without_labels", "labels_without_images", "boxes_outside_image", "zero_area_boxes",
            "unreadable_images", "duplicate_names", "duplicate_images", "unmapped_classes", "size_mismatch")
SLACK_PX = 0.5  # boxes reaching at most this far outside the image are clipped without a report
SPLIT_FOLDERS = re.compile(r"train|valid|validation|val|test|default|obj_\w+_data", re.IGNORECASE)  # Roboflow, CVAT
ROBOFLOW_COPY = re.compile(r"_(jpe?g|png|bmp|tiff?|webp)\.rf\.[0-9a-f]+$", re.IGNORECASE)  # IMG_1_jpg.rf.<hash>


def output_name(key: str, suffix: str) -> str:
    return "__".join(re.sub(r"[^\w.-]+", "_", part) for part in key.split("/")) + suffix.lower()


def group_of(key: str) -> str:
    folders = [p for p in key.split("/")[:-1] if not SPLIT_FOLDERS.fullmatch(p)]
    return "/".join(folders) if folders else ROBOFLOW_COPY.sub("", key.split("/")[-1])


class _Conversion:
    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.problems: dict[str, list[str]] = {k: [] for k in PROBLEMS}
        self.classes: Counter[str] = Counter()
        self.boxes = Counter(converted=0, clipped=0, dropped_unmapped=0, dropped_by_classes=0, dropped_zero_area=0)
        self.rotated: list[str] = []

    def keep(self, box: Box) -> bool:
        """Whether the box's class maps to handwriting; unmapped classes are dropped (reported) or stop the stage."""
        self.classes[box.name] += 1
        if box.name in self.cfg["classes"]:
            mapped = self.cfg["classes"][box.name] is not None
            self.boxes["dropped_by_classes"] += not mapped
            return mapped
        if self.cfg["unmapped"] == "error":
            raise UserError(f"{box.where}: class {box.name!r} is not in custom.classes; add `{box.name}: handwriting` "
                            f"(or `{box.name}: null` to drop it) under custom.classes in params.yaml, or set "
                            f"custom.unmapped: drop")
        self.problems["unmapped_classes"].append(f"{box.where}: class {box.name!r} is not in custom.classes; dropped")
        self.boxes["dropped_unmapped"] += 1
        return False

    def frame(self, label: Label, stored: tuple[int, int], orientation: int) -> str | None:
        """Which image the boxes were drawn on: the recorded size decides when it can, else custom.orientation."""
        if label.size is None:
            return self.cfg["orientation"]
        matches = [f for f, size in (("displayed", displayed_size(stored, orientation)), ("stored", stored))
                   if size == label.size]
        return None if not matches else self.cfg["orientation"] if len(matches) == 2 else matches[0]

    def yolo_lines(self, label: Label, stored: tuple[int, int], orientation: int, frame: str) -> list[str]:
        fw, fh = stored if frame == "stored" else displayed_size(stored, orientation)
        dw, dh = displayed_size(stored, orientation)
        lines = []
        for box in label.boxes:
            if not self.keep(box):
                continue
            scale = (fw, fh) if label.normalized else (1, 1)
            x0, y0, x1, y1 = box.x0 * scale[0], box.y0 * scale[1], box.x1 * scale[0], box.y1 * scale[1]
            if min(x0, x1, y0, y1) < -SLACK_PX or max(x0, x1) > fw + SLACK_PX or max(y0, y1) > fh + SLACK_PX:
                what = f"box x {x0:.1f}..{x1:.1f}, y {y0:.1f}..{y1:.1f} px reaches outside the {fw}x{fh} image"
                if self.cfg["out_of_bounds"] == "error":
                    raise UserError(f"{box.where}: {what}; fix the box or set custom.out_of_bounds: clip")
                self.problems["boxes_outside_image"].append(f"{box.where}: {what}; clipped")
                self.boxes["clipped"] += 1
            x0, x1 = max(0.0, min(x0, fw)), max(0.0, min(x1, fw))
            y0, y1 = max(0.0, min(y0, fh)), max(0.0, min(y1, fh))
            if x1 - x0 < 1 or y1 - y0 < 1:
                self.problems["zero_area_boxes"].append(
                    f"{box.where}: zero-area box ({x1 - x0:.1f} x {y1 - y0:.1f} px after clipping); dropped")
                self.boxes["dropped_zero_area"] += 1
                continue
            if frame == "stored":
                x0, y0, x1, y1 = displayed_box((x0, y0, x1, y1), orientation, stored)
            lines.append(format_boxes([(x0, y0, x1, y1)], dw, dh))
            self.boxes["converted"] += 1
        return lines

    def image(self, path: Path, label: Label, out: Path, name: str) -> bool:
        """Write one image and its label; False (with a reported problem) when it cannot be used."""
        try:
            img, orientation = open_image(path)
        except UnreadableImage as err:
            self.problems["unreadable_images"].append(f"{shown(path)}: {err}; re-export or delete it (skipped)")
            return False
        frame = self.frame(label, img.size, orientation)
        if frame is None:
            self.problems["size_mismatch"].append(
                f"{label.where}: annotated as {label.size[0]}x{label.size[1]} but the image {shown(path)} is "
                f"{img.size[0]}x{img.size[1]}; annotate the image you ship, or ship the one you annotated (skipped)")
            return False
        lines = self.yolo_lines(label, img.size, orientation, frame)
        if orientation != 1:
            self.rotated.append(f"{shown(path)}: EXIF orientation {orientation} applied; boxes read as drawn on the "
                                f"{frame} image")
        write_displayed(img, orientation, path, out / "images" / name)
        (out / "labels" / f"{Path(name).stem}.txt").write_text("".join(lines))
        return True


def convert(src_dir: Path, out_dir: Path, fmt: str = "auto", classes: dict | None = None, unmapped: str = "drop",
            out_of_bounds: str = "clip", orientation: str = "displayed") -> dict:
    """Convert src_dir into the source out_dir (replaced whole, or left untouched on error); return the report."""
    cfg = {"dir": str(src_dir), "format": fmt, "unmapped": unmapped, "out_of_bounds": out_of_bounds,
           "orientation": orientation, "classes": DEFAULT_CLASSES if classes is None else classes}
    if not src_dir.is_dir():
        raise UserError(f"{shown(src_dir)}: not found; put your annotated images there and track them with "
                        f"`dvc add {shown(src_dir)}` (see README, 'Your own annotated documents')")
    files = visible_files(src_dir)
    images: dict[str, list[Path]] = {}
    for path in filter(is_image, files):
        images.setdefault(pair_key(path, src_dir), []).append(path)
    if not images:
        raise UserError(f"{shown(src_dir)}: no images (.jpg, .png, .tif, .bmp, .webp) found; put your annotated "
                        f"images there")
    fmt = detect_format(files, src_dir) if fmt == "auto" else fmt
    labels: dict[str, list[Label]] = {}
    for label in read_labels(files, src_dir, fmt):
        labels.setdefault(label.key, []).append(label)
    run = _Conversion(cfg)
    problems, written, groups = run.problems, {}, []
    for label in labels.pop("", []):
        problems["labels_without_images"].append(f"{label.where}: image file not found beside the JSON, in an images/ "
                                                 f"folder next to it, or at the top of {shown(src_dir)}")
    for key in sorted(set(labels) - set(images)):
        for label in labels[key]:
            problems["labels_without_images"].append(f"{label.where}: no image {key}.* beside it or in a parallel "
                                                     f"images/ folder; add the image or delete the label")
    with atomic_dir(out_dir) as out:
        (out / "images").mkdir()
        (out / "labels").mkdir()
        for key in tqdm(sorted(images), desc="custom images", unit="image"):
            paths, found = images[key], labels.get(key, [])
            name = output_name(key, paths[0].suffix)
            if len(paths) > 1:
                problems["duplicate_names"].append(f"{', '.join(map(shown, paths))}: same name in one folder, so "
                                                   f"their labels cannot be told apart; rename all but one (skipped)")
            elif not found:
                problems["images_without_labels"].append(
                    f"{shown(paths[0])}: no label; annotate it (an empty label marks a page without handwriting) "
                    f"or remove it (skipped)")
            elif len(found) > 1:
                problems["duplicate_names"].append(f"{', '.join(x.where for x in found)}: more than one label for "
                                                   f"{shown(paths[0])}; delete all but one (skipped)")
            elif name in written:
                problems["duplicate_names"].append(f"{shown(paths[0])}, {shown(written[name])}: both would be written "
                                                   f"as {name}; rename one (skipped)")
            elif run.image(paths[0], found[0], out, name):
                written[name] = paths[0]
                groups.append((name, group_of(key)))
        by_name: dict[str, list[Path]] = {}
        for path in written.values():
            by_name.setdefault(path.name, []).append(path)
        for file_name, paths in sorted(by_name.items()):
            if len(paths) > 1:
                problems["duplicate_names"].append(
                    f"{', '.join(map(shown, paths))}: same file name {file_name} in different folders; both kept, as "
                    f"{', '.join(n for n, p in written.items() if p in paths)}; check they are different pages")
        if not written:
            first = next(item for items in problems.values() for item in items)
            raise UserError(f"{shown(src_dir)}: no image could be converted; the first problem: {first}")
        if run.classes and not any(cfg["classes"].get(name) for name in run.classes):
            raise UserError(f"{shown(src_dir)}: no box maps to handwriting (classes found: "
                            f"{', '.join(sorted(run.classes))}); map them under custom.classes in params.yaml")
        groups, problems["duplicate_images"] = same_pages(written, groups)
        with (out / "groups.csv").open("w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows([("image", "group"), *sorted(groups)])
        total = sum(map(len, images.values()))
        report = {"source": shown(src_dir), "format": fmt, "settings": {k: cfg[k] for k in SETTINGS},
                  "images": {"found": total, "converted": len(written), "skipped": total - len(written),
                             "groups": len({g for _, g in groups})},
                  "boxes": dict(run.boxes),
                  "classes": {n: {"boxes": c, "to": cfg["classes"].get(n)} for n, c in sorted(run.classes.items())},
                  "exif_rotated": run.rotated, "problems": {k: sorted(v) for k, v in problems.items()}}
        write_json(out / "report.json", report)
    return report
