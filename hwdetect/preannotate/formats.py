"""Pre-annotations in the forms annotation tools import as editable boxes, each in a folder laid out so that, once
corrected and exported back by the tool (or corrected in place), it drops into data/custom/ unchanged.

A page is (name, image path as displayed, width, height, boxes) with boxes as {"xyxy": pixels, "score"}.
- yolo/: obj_train_data/<page> + <stem>.txt + classes.txt (labelImg, YOLO mode), with obj.names, obj.data and
  train.txt beside it (CVAT "YOLO 1.1").
- voc/: <page> + <stem>.xml side by side (labelImg's default, Pascal VOC).
- coco/: annotations/instances_default.json + images/default/<page> (CVAT "COCO 1.0", as CVAT exports it).
- label-studio/: tasks.json (tasks with `predictions`: model version, a score per box, rectangles in percent of the
  image), label_config.xml (the labelling interface to paste into the project) and images/<page>.
Each writer writes the files of `pages` (each with the "image" file to copy) and lists in its files of every page
(train.txt, instances_default.json, tasks.json) the `earlier` pages too: pages an earlier run wrote there.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Sequence
from urllib.parse import quote
from xml.sax.saxutils import escape

from hwdetect.files.tables import ENCODING
from hwdetect.files.yolo_labels import CLASS_NAMES, format_boxes

CLASS = CLASS_NAMES[0]
FORMATS = ("yolo", "voc", "coco", "label-studio")
# Page names come from the user's file names, which may hold any bytes: text files keep those bytes as they are,
# JSON escapes them (json.dumps is ensure_ascii by default) and URLs percent-encode them.
LABEL_CONFIG = f"""<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="{CLASS}"/>
  </RectangleLabels>
</View>
"""


def write_yolo(out: Path, pages: list[dict], earlier: Sequence[dict] = ()) -> None:
    data = out / "obj_train_data"
    data.mkdir(parents=True)
    for name in ("obj.names", "obj_train_data/classes.txt"):
        (out / name).write_text(f"{CLASS}\n")
    (out / "obj.data").write_text("classes = 1\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n")
    listed = "".join(f"data/obj_train_data/{p['name']}\n" for p in [*pages, *earlier])
    (out / "train.txt").write_text(listed, **ENCODING)
    for p in pages:
        shutil.copyfile(p["image"], data / p["name"])
        (data / f"{Path(p['name']).stem}.txt").write_text(
            format_boxes([b["xyxy"] for b in p["boxes"]], p["width"], p["height"]))


def write_voc(out: Path, pages: list[dict], earlier: Sequence[dict] = ()) -> None:
    out.mkdir(parents=True)
    for p in pages:
        shutil.copyfile(p["image"], out / p["name"])
        objects = "".join(
            f"  <object>\n    <name>{CLASS}</name>\n    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n"
            f"    <difficult>0</difficult>\n    <bndbox>\n      <xmin>{x0:.2f}</xmin>\n      <ymin>{y0:.2f}</ymin>\n"
            f"      <xmax>{x1:.2f}</xmax>\n      <ymax>{y1:.2f}</ymax>\n    </bndbox>\n  </object>\n"
            for x0, y0, x1, y1 in (b["xyxy"] for b in p["boxes"]))
        (out / f"{Path(p['name']).stem}.xml").write_text(
            f"<annotation>\n  <folder>voc</folder>\n  <filename>{escape(p['name'])}</filename>\n"
            f"  <path>{escape(p['name'])}</path>\n  <source><database>Unknown</database></source>\n"
            f"  <size>\n    <width>{p['width']}</width>\n    <height>{p['height']}</height>\n    <depth>3</depth>\n"
            f"  </size>\n  <segmented>0</segmented>\n{objects}</annotation>\n", **ENCODING)


def write_coco(out: Path, pages: list[dict], earlier: Sequence[dict] = ()) -> None:
    images = out / "images" / "default"
    images.mkdir(parents=True)
    (out / "annotations").mkdir()
    entries, annotations = [], []
    for p in pages:
        shutil.copyfile(p["image"], images / p["name"])
    for image_id, p in enumerate([*pages, *earlier], start=1):
        entries.append({"id": image_id, "file_name": p["name"], "width": p["width"], "height": p["height"]})
        for b in p["boxes"]:
            x0, y0, x1, y1 = b["xyxy"]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": [x0, y0, round(x1 - x0, 2), round(y1 - y0, 2)],
                                "area": round((x1 - x0) * (y1 - y0), 2), "iscrowd": 0, "score": b["score"]})
    document = {"info": {"description": "pre-annotations of the handwriting detector"},
                "categories": [{"id": 1, "name": CLASS, "supercategory": ""}],
                "images": entries, "annotations": annotations}
    (out / "annotations" / "instances_default.json").write_text(json.dumps(document, indent=1) + "\n")


def write_label_studio(out: Path, pages: list[dict], model_version: str, earlier: Sequence[dict] = ()) -> None:
    (out / "images").mkdir(parents=True)
    (out / "label_config.xml").write_text(LABEL_CONFIG)
    tasks = []
    for p in pages:
        shutil.copyfile(p["image"], out / "images" / p["name"])
    for p in [*pages, *earlier]:
        w, h = p["width"], p["height"]
        result = [{"id": f"b{k}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
                   "original_width": w, "original_height": h, "image_rotation": 0, "score": b["score"],
                   "value": {"x": 100 * x0 / w, "y": 100 * y0 / h, "width": 100 * (x1 - x0) / w,
                             "height": 100 * (y1 - y0) / h, "rotation": 0, "rectanglelabels": [CLASS]}}
                  for k, b in enumerate(p["boxes"], start=1) for x0, y0, x1, y1 in [b["xyxy"]]]
        score = min((b["score"] for b in p["boxes"]), default=0.0)
        url = quote(f"images/{p['name']}".encode("utf-8", "surrogateescape"))
        prediction = {"model_version": p.get("model_version", model_version), "score": score, "result": result}
        tasks.append({"data": {"image": f"/data/local-files/?d={url}"}, "predictions": [prediction]})
    (out / "tasks.json").write_text(json.dumps(tasks, indent=1) + "\n")


def write_all(out: Path, pages: list[dict], formats: list[str], model_version: str,
              earlier: dict[str, list[dict]] | None = None) -> None:
    for fmt in formats:
        before = (earlier or {}).get(fmt, [])
        if fmt == "label-studio":
            write_label_studio(out / fmt, pages, model_version, before)
        else:
            {"yolo": write_yolo, "voc": write_voc, "coco": write_coco}[fmt](out / fmt, pages, before)
