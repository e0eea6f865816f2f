"""One page of a conversion: its image read (EXIF orientation applied), its boxes mapped to handwriting, clipped to
the image and written as YOLO labels, with every box or image left out counted and listed as a problem."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from hwdetect.cli import UserError, one_line
from hwdetect.files.walk import display
from hwdetect.files.yolo_labels import format_boxes
from hwdetect.sources.custom.labels import Box, Label
from hwdetect.sources.images import (UnreadableImage, displayed_box, displayed_size, open_image, page_count,
                                     write_displayed)

PROBLEMS = ("images_without_labels", "labels_without_images", "boxes_outside_image", "zero_area_boxes",
            "duplicate_boxes", "unreadable_images", "duplicate_names", "duplicate_images", "unmapped_classes",
            "size_mismatch", "multi_page_images", "links_outside", "rotated_boxes", "shapes_not_boxes",
            "several_annotations", "unannotated_tasks", "duplicate_exports")
# Why a box of the source is not converted; the source's boxes = converted + every dropped_<reason>.
DROP_REASONS = ("image_missing", "image_unreadable", "size_mismatch", "duplicate_names", "unmapped", "by_classes",
                "zero_area", "duplicate", "rotated", "not_a_box", "older_annotation", "cancelled_annotation")
ANNOTATION_REASONS = ("older_annotation", "cancelled_annotation")  # a box of an annotation not used, wherever it is
SHAPE_PROBLEMS = {"rotated": ("rotated_boxes", "a YOLO box has no angle; draw it unrotated"),
                  "not_a_box": ("shapes_not_boxes", "draw a rectangle instead")}
SLACK_PX = 0.5  # boxes reaching at most this far outside the image are clipped without a report


class Conversion:
    """The state of one conversion: the settings, the problems found and the boxes counted."""

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.problems: dict[str, list[str]] = {k: [] for k in PROBLEMS}
        self.classes: Counter[str] = Counter()
        self.boxes = Counter({"source": 0, "converted": 0, "clipped": 0, **{f"dropped_{r}": 0 for r in DROP_REASONS}})
        self.skipped: Counter[str] = Counter()  # images not converted, by problem
        self.rotated: list[str] = []

    def skip(self, kind: str, problem: str, images: int = 1) -> None:
        self.problems[kind].append(problem)
        self.skipped[kind] += images

    def drop(self, label: Label, reason: str) -> None:
        """Count every box of a label whose image is not used; a box of an annotation not used keeps that reason."""
        for box in label.boxes:
            self.boxes[f"dropped_{box.dropped if box.dropped in ANNOTATION_REASONS else reason}"] += 1

    def keep(self, box: Box) -> bool:
        """Whether the box's class maps to handwriting; unmapped classes are dropped (reported) or stop the stage."""
        self.classes[box.name] += 1
        if box.name in self.cfg["classes"]:
            mapped = self.cfg["classes"][box.name] is not None
            self.boxes["dropped_by_classes"] += not mapped
            return mapped
        if self.cfg["unmapped"] == "error":
            name = one_line(box.name)[:60]
            raise UserError(f"{box.where}: class {name!r} is not in custom.classes; add `{name}: handwriting` "
                            f"(or `{name}: null` to drop it) under custom.classes in params.yaml, or set "
                            f"custom.unmapped: drop")
        self.problems["unmapped_classes"].append(f"{box.where}: class {one_line(box.name)[:60]!r} is not in "
                                                 f"custom.classes; dropped")
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
            if box.dropped in ANNOTATION_REASONS:
                self.boxes[f"dropped_{box.dropped}"] += 1
                continue
            if not self.keep(box):
                continue
            if box.dropped:
                kind, fix = SHAPE_PROBLEMS[box.dropped]
                self.problems[kind].append(f"{box.where}: {fix} (dropped)")
                self.boxes[f"dropped_{box.dropped}"] += 1
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
            line = format_boxes([(x0, y0, x1, y1)], dw, dh)
            if line in lines:
                self.problems["duplicate_boxes"].append(f"{box.where}: the same box as an earlier one; dropped")
                self.boxes["dropped_duplicate"] += 1
                continue
            lines.append(line)
            self.boxes["converted"] += 1
        return lines

    def image(self, path: Path, label: Label, out: Path, name: str) -> bool:
        """Write one image and its label; False (with a reported problem) when it cannot be used."""
        try:
            img, orientation = open_image(path)
        except UnreadableImage as err:
            self.skip("unreadable_images", f"{display(path)}: {one_line(str(err))}; re-export or delete it (skipped)")
            self.drop(label, "image_unreadable")
            return False
        frame = self.frame(label, img.size, orientation)
        if frame is None:
            self.skip("size_mismatch",
                      f"{label.where}: annotated as {label.size[0]}x{label.size[1]} but the image {display(path)} is "
                      f"{img.size[0]}x{img.size[1]}; annotate the image you ship, or ship the one you annotated "
                      f"(skipped)")
            self.drop(label, "size_mismatch")
            return False
        if page_count(img) > 1:
            self.problems["multi_page_images"].append(
                f"{display(path)}: {page_count(img)} pages; only the first is used (save each page as its own image "
                f"to use the others)")
        lines = self.yolo_lines(label, img.size, orientation, frame)
        if orientation != 1:
            self.rotated.append(f"{display(path)}: EXIF orientation {orientation} applied; boxes read as drawn on the "
                                f"{frame} image")
        write_displayed(img, orientation, path, out / "images" / name)
        (out / "labels" / f"{Path(name).stem}.txt").write_text("".join(lines))
        return True
