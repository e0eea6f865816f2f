"""Your own annotated documents, converted into a data source (images/, labels/, groups.csv, report.json).

Accepts YOLO txt (labelImg, Roboflow "YOLOv8", CVAT "YOLO 1.1"), Pascal VOC XML (labelImg), COCO JSON (CVAT, Label
Studio, Roboflow), CVAT for images 1.1 XML and Label Studio JSON (and JSON-MIN); formats.py says where each file is
looked for. Every box read is converted or counted in report.json `boxes` as dropped_<reason>. Class names map to
handwriting through custom.classes. A photo with an EXIF orientation is written turned as viewers show it, with its
boxes in the same frame. Writes images/, labels/ (YOLO, 6 decimals), groups.csv (an image's sub-folder, or its own name
when at the top; split folders such as train/ do not count) and report.json, which lists each problem naming its file.
Any file name works, whatever bytes it holds: images are read through open files, groups.csv keeps names that are not
UTF-8 through `surrogateescape`, and messages show them escaped on one line.
"""
from __future__ import annotations

import re
from pathlib import Path

from tqdm import tqdm

from hwdetect.cli import UserError, one_line
from hwdetect.files.atomic import atomic_dir, write_atomic, write_json
from hwdetect.files.tables import table_text
from hwdetect.files.walk import display, leaves, visible_files
from hwdetect.sources.custom.duplicates import same_exports, same_pages
from hwdetect.sources.custom.formats import detect_format, is_image, read_labels
from hwdetect.sources.custom.labels import Label, pair_key
from hwdetect.sources.custom.no_images import refuse_no_images
from hwdetect.sources.custom.pages import Conversion

DEFAULT_CLASSES = {"handwriting": "handwriting", "handwritten": "handwriting", "text_hw": "handwriting"}
SETTINGS = ("format", "unmapped", "out_of_bounds", "orientation")
SPLIT_FOLDERS = re.compile(r"train|valid|validation|val|test|default|obj_\w+_data", re.IGNORECASE)  # Roboflow, CVAT
ROBOFLOW_COPY = re.compile(r"_(jpe?g|png|bmp|tiff?|webp)\.rf\.[0-9a-f]+$", re.IGNORECASE)  # IMG_1_jpg.rf.<hash>


def output_name(key: str, suffix: str) -> str:
    return "__".join(re.sub(r"[^\w.-]+", "_", part) for part in key.split("/")) + suffix.lower()


def group_of(key: str) -> str:
    folders = [p for p in key.split("/")[:-1] if not SPLIT_FOLDERS.fullmatch(p)]
    return "/".join(folders) if folders else ROBOFLOW_COPY.sub("", key.split("/")[-1])


def _files(src_dir: Path, run: Conversion) -> list[Path]:
    """The visible files of src_dir, less links to files outside it and the project (listed as problems)."""
    files = []
    for path in visible_files(src_dir):
        if leaves(path, src_dir):
            run.skip("links_outside", f"{display(path)}: a link to {display(path.resolve())}, outside "
                                      f"{display(src_dir)} and the project; copy the file in (skipped)",
                     images=is_image(path))
        else:
            files.append(path)
    return files


def _pairs(src_dir: Path, files: list[Path], fmt: str, run: Conversion
           ) -> tuple[dict[str, list[Path]], dict[str, list[Label]], str]:
    """Images and labels by pairing key, and the format read; labels without an image are listed as problems."""
    images: dict[str, list[Path]] = {}
    for path in filter(is_image, files):
        images.setdefault(pair_key(path, src_dir), []).append(path)
    if not images:
        refuse_no_images(src_dir, files, run.problems["links_outside"])
    fmt = detect_format(files, src_dir) if fmt == "auto" else fmt
    labels: dict[str, list[Label]] = {}
    for label in read_labels(files, src_dir, fmt):
        run.boxes["source"] += len(label.boxes)
        for kind, problem in label.problems:
            run.problems[kind].append(problem)
        if not label.annotated:
            run.drop(label, "cancelled_annotation")
            run.problems["unannotated_tasks"].append(f"{label.where}: not annotated (no annotation, or only "
                                                     f"cancelled ones); not used")
        else:
            labels.setdefault(label.key, []).append(label)
    for label in labels.pop("", []):
        run.drop(label, "image_missing")
        run.problems["labels_without_images"].append(
            f"{label.where}: image file not found beside the {fmt} file, in an images/ folder next to it, or at the "
            f"top of {display(src_dir)}; its {len(label.boxes)} boxes not used")
    for key in sorted(set(labels) - set(images)):
        for label in labels[key]:
            run.drop(label, "image_missing")
            run.problems["labels_without_images"].append(
                f"{label.where}: no image {key}.* beside it or in a parallel images/ folder; add the image or delete "
                f"the label ({len(label.boxes)} boxes not used)")
    return images, labels, fmt


def convert(src_dir: Path, out_dir: Path, fmt: str = "auto", classes: dict | None = None, unmapped: str = "drop",
            out_of_bounds: str = "clip", orientation: str = "displayed") -> dict:
    """Convert src_dir into the source out_dir (replaced whole, or left untouched on error); return the report."""
    cfg = {"dir": str(src_dir), "format": fmt, "unmapped": unmapped, "out_of_bounds": out_of_bounds,
           "orientation": orientation, "classes": DEFAULT_CLASSES if classes is None else classes}
    if not src_dir.is_dir():
        raise UserError(f"{display(src_dir)}: not found; put your annotated images there and track them with "
                        f"`dvc add {display(src_dir)}` (see README, 'Your own annotated documents')")
    run = Conversion(cfg)
    files = _files(src_dir, run)
    images, labels, fmt = _pairs(src_dir, files, fmt, run)
    problems, written, groups = run.problems, {}, []
    with atomic_dir(out_dir) as out:
        (out / "images").mkdir()
        (out / "labels").mkdir()
        for key in tqdm(sorted(images), desc="custom images", unit="image"):
            paths, found = images[key], labels.get(key, [])
            name = output_name(key, paths[0].suffix)
            if len(paths) > 1:
                run.skip("duplicate_names", f"{', '.join(map(display, paths))}: same name in one folder, so their "
                                            f"labels cannot be told apart; rename all but one (skipped)", len(paths))
                for label in found:
                    run.drop(label, "duplicate_names")
            elif not found:
                run.skip("images_without_labels", f"{display(paths[0])}: no label; annotate it (an empty label "
                                                  f"marks a page without handwriting) or remove it (skipped)")
            elif len(found) > 1:
                run.skip("duplicate_names", f"{', '.join(x.where for x in found)}: more than one label for "
                                            f"{display(paths[0])}; delete all but one (skipped)")
                for label in found:
                    run.drop(label, "duplicate_names")
            elif name in written:
                run.skip("duplicate_names", f"{display(paths[0])}, {display(written[name])}: both would be written "
                                            f"as {name}; rename one (skipped)")
                run.drop(found[0], "duplicate_names")
            elif run.image(paths[0], found[0], out, name):
                written[name] = paths[0]
                groups.append((name, group_of(key)))
        by_name: dict[str, list[Path]] = {}
        for path in written.values():
            by_name.setdefault(path.name, []).append(path)
        for file_name, paths in sorted(by_name.items()):
            if len(paths) > 1:
                problems["duplicate_names"].append(
                    f"{', '.join(map(display, paths))}: same file name {display(file_name)} in different folders; "
                    f"both kept, as {', '.join(n for n, p in written.items() if p in paths)}; check they are "
                    f"different pages")
        if not written:
            first = next(item for items in problems.values() for item in items)
            raise UserError(f"{display(src_dir)}: no image could be converted; the first problem: {first}")
        if run.classes and not any(cfg["classes"].get(name) for name in run.classes):
            raise UserError(f"{display(src_dir)}: no box maps to handwriting (classes found: "
                            f"{one_line(', '.join(sorted(run.classes)))[:200]}); map them under custom.classes in "
                            f"params.yaml")
        groups, problems["duplicate_images"] = same_pages(written, groups)
        problems["duplicate_exports"] = same_exports(written, src_dir)
        write_atomic(out / "groups.csv", table_text(("image", "group"), sorted(groups)))
        total = sum(map(len, images.values())) + run.skipped["links_outside"]
        report = {"source": display(src_dir), "format": fmt, "settings": {k: cfg[k] for k in SETTINGS},
                  "images": {"found": total, "converted": len(written), "skipped": total - len(written),
                             "skipped_by_problem": dict(sorted(run.skipped.items())),
                             "groups": len({g for _, g in groups})},
                  "boxes": dict(run.boxes),
                  "classes": {n: {"boxes": c, "to": cfg["classes"].get(n)} for n, c in sorted(run.classes.items())},
                  "exif_rotated": run.rotated, "problems": {k: sorted(v) for k, v in problems.items()}}
        write_json(out / "report.json", report)
    return report
