"""Stage `custom`: turn your own annotated documents (custom.dir, default data/custom/) into data/sources/custom/.

Accepts YOLO txt (labelImg, Roboflow "YOLOv8", CVAT "YOLO 1.1"), Pascal VOC XML (labelImg), COCO JSON (CVAT, Label
Studio, Roboflow), CVAT for images 1.1 XML and Label Studio JSON and JSON-MIN; hwdetect/sources/custom/formats.py says
where each file is looked for. Class names map to handwriting through custom.classes. A photo with an EXIF orientation
is written turned as viewers show it, with its boxes in the same frame. Writes images/, labels/ (YOLO, 6 decimals),
groups.csv (an image's sub-folder, or its own name when at the top; split folders such as train/ do not count) and
report.json, which lists each problem naming its file. When some of what it was given is not used (images skipped, boxes
dropped, pages of a multi-page TIFF beyond the first, links to files outside the folder and the project), one `warning:`
line says how many and why; every box of the export is either converted or counted as dropped, by reason.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from hwdetect import paths
from hwdetect.cli import cli, log
from hwdetect.config import params
from hwdetect.paths import shown
from hwdetect.sources.custom.convert import convert


DROPPED_AS = {"by_classes": "of classes mapped to null", "image_missing": "on missing images",
              "image_unreadable": "on unreadable images", "size_mismatch": "on images of another size",
              "duplicate_names": "on images of clashing names", "not_a_box": "not boxes"}


def print_report(report: dict, out_dir: Path, shown_per_kind: int = 3) -> None:
    i, b = report["images"], report["boxes"]
    log.info(f"custom: {i['converted']} of {i['found']} images ({b['converted']} of {b['source']} boxes, "
             f"{i['groups']} groups) "
             f"converted from {report['source']} ({report['format']}) to {shown(out_dir)}")
    if report["exif_rotated"]:
        log.info(f"  {len(report['exif_rotated'])} photos turned upright by their EXIF orientation (listed in "
                 f"report.json exif_rotated)")
    for kind, items in report["problems"].items():
        if items:
            log.info(f"  {kind.replace('_', ' ')} ({len(items)}):")
            for item in items[:shown_per_kind]:
                log.info(f"    {item}")
            if len(items) > shown_per_kind:
                log.info(f"    ... {len(items) - shown_per_kind} more in {shown(out_dir / 'report.json')}")


def warning(report: dict, out_dir: Path) -> str | None:
    """One line saying how many images, labels, boxes and pages were given but not used, and why; None if all were."""
    i, b = report["images"], report["boxes"]
    dropped = {k.removeprefix("dropped_"): v for k, v in b.items() if k.startswith("dropped_") and v}
    problems = {k.replace("_", " "): len(v) for k, v in report["problems"].items() if v}
    if not (i["skipped"] or set(dropped) - {"by_classes"} or problems):
        return None  # boxes of classes mapped to null are left out as asked
    parts = [f"{i['skipped']} of {i['found']} images not used"] if i["skipped"] else []
    if dropped:
        reasons = ", ".join(f"{v} {DROPPED_AS.get(k, k.replace('_', ' '))}" for k, v in dropped.items())
        parts.append(f"{sum(dropped.values())} of {b['source']} boxes dropped ({reasons})")
    listed = ", ".join(f"{v} {k}" for k, v in problems.items())
    return (f"warning: {report['source']}: {'; '.join(parts + [f'problems: {listed}'])}; each is listed in "
            f"{shown(out_dir / 'report.json')}")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0],
                            epilog="Reads params.yaml: custom (dir, format, classes, unmapped, out_of_bounds, "
                                   "orientation). Writes data/sources/custom/ with report.json.").parse_args()
    cfg = params.load()["custom"]
    out = paths.source_dir("custom")
    report = convert(paths.ROOT / cfg["dir"], out, cfg["format"], cfg["classes"], cfg["unmapped"],
                     cfg["out_of_bounds"], cfg["orientation"])
    print_report(report, out)
    line = warning(report, out)
    if line:
        log.warning(line)


if __name__ == "__main__":
    cli(main)
