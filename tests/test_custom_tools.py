"""The tools' own exports, written as CVAT ("CVAT for images 1.1") and Label Studio ("JSON", "JSON-MIN") write them,
converted by the `custom` stage box-exact, with every box of the export either converted or counted as dropped."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwdetect.cli import UserError
from hwdetect.sources.custom.convert import convert
from stages.custom import warning
from test_custom import H, W, boxes_add_up, page, text

BOX = (20.37, 10.12, 120.55, 30.96)  # pixels: x0, y0, x1, y1 on a 200 x 100 page
POLYGON = ((10.5, 60.25), (60.75, 58.0), (62.0, 80.5), (11.0, 82.0))


@pytest.fixture(autouse=True)
def paths_shown_from_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr("hwdetect.paths.ROOT", tmp_path)


def pixels(out: Path, name: str) -> list[pytest.approx]:
    """The boxes of an output label, back in pixels of the 200 x 100 page, compared within 0.01 px."""
    rows = [[float(v) for v in line.split()] for line in (out / "labels" / f"{name}.txt").read_text().splitlines()]
    return [[(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H] for _, cx, cy, w, h in rows]


def near(*boxes: tuple[float, ...]) -> list:
    return [pytest.approx(list(b), abs=0.01) for b in boxes]


# ---------------------------------------------------------------- CVAT for images 1.1

CVAT_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>7</id>
      <name>scans</name>
      <size>3</size>
      <mode>annotation</mode>
      <overlap>0</overlap>
      <bugtracker></bugtracker>
      <created>2024-05-02 09:12:44.104812+00:00</created>
      <updated>2024-05-02 10:01:07.551203+00:00</updated>
      <subset>default</subset>
      <start_frame>0</start_frame>
      <stop_frame>2</stop_frame>
      <frame_filter></frame_filter>
      <segments>
        <segment>
          <id>9</id>
          <start>0</start>
          <stop>2</stop>
          <url>http://localhost:8080/api/jobs/9</url>
        </segment>
      </segments>
      <owner>
        <username>admin</username>
        <email></email>
      </owner>
      <assignee></assignee>
      <labels>
        <label>
          <name>handwriting</name>
          <color>#fa3253</color>
          <type>any</type>
          <attributes>
          </attributes>
        </label>
        <label>
          <name>printed</name>
          <color>#33ddff</color>
          <type>any</type>
          <attributes>
          </attributes>
        </label>
      </labels>
    </task>
    <dumped>2024-05-02 10:02:13.331070+00:00</dumped>
  </meta>
"""


def cvat_box(label: str, box: tuple[float, ...], extra: str = "") -> str:
    x0, y0, x1, y1 = box
    return (f'    <box label="{label}" source="manual" occluded="0" xtl="{x0:.2f}" ytl="{y0:.2f}" xbr="{x1:.2f}" '
            f'ybr="{y1:.2f}"{extra} z_order="0">\n    </box>\n')


def cvat_export(folder: Path, images: list[tuple[str, str]], with_images: tuple[str, ...]) -> Path:
    """annotations.xml with one <image> per (name, shapes), and images/ holding the pages named in with_images."""
    body = "".join(f'  <image id="{i}" name="{name}" width="{W}" height="{H}">\n{shapes}  </image>\n'
                   for i, (name, shapes) in enumerate(images))
    for name in with_images:
        page(folder / "images" / name)
    return text(folder / "annotations.xml", CVAT_HEAD + body + "</annotations>\n")


def test_cvat_for_images_export_converted_box_exact_with_every_box_counted(tmp_path):
    src, out = tmp_path / "custom", tmp_path / "out"
    polygon = ";".join(f"{x:.2f},{y:.2f}" for x, y in POLYGON)
    first = (cvat_box("handwriting", BOX) + cvat_box("handwriting", (30, 50, 90, 70), ' rotation="12.5"')
             + f'    <polygon label="handwriting" source="manual" occluded="0" points="{polygon}" z_order="0">\n'
               f'    </polygon>\n' + cvat_box("printed", (0, 0, 50, 8))
             + '    <points label="handwriting" source="manual" occluded="0" points="5.00,5.00" z_order="0">\n'
               '    </points>\n    <tag label="printed" source="manual">\n    </tag>\n')
    cvat_export(src, [("scan 1.jpg", first), ("letters/p2.png", cvat_box("handwriting", (0, 0, 200, 100))),
                      ("lost.jpg", cvat_box("handwriting", BOX) * 2)], with_images=("scan 1.jpg", "letters/p2.png"))
    report = convert(src, out)
    assert report["format"] == "cvat" and report["images"]["converted"] == 2
    assert pixels(out, "scan_1") == near(BOX, (10.5, 58.0, 62.0, 82.0))  # the polygon's bounding box
    assert pixels(out, "letters__p2") == near((0, 0, 200, 100))
    assert boxes_add_up(report) == {"source": 8, "converted": 3, "dropped_image_missing": 2, "dropped_unmapped": 1,
                                    "dropped_rotated": 1, "dropped_not_a_box": 1}
    problems = report["problems"]
    assert problems["rotated_boxes"] == ["custom/annotations.xml: image id 0 (scan 1.jpg): box 2 (rotated 12.5°): a "
                                         "YOLO box has no angle; draw it unrotated (dropped)"]
    assert problems["labels_without_images"] == [
        "custom/annotations.xml: image id 2 (lost.jpg): image file not found beside the cvat file, in an images/ "
        "folder next to it, or at the top of custom; its 2 boxes not used"]
    line = warning(report, out)
    assert "5 of 8 boxes dropped (2 on missing images, 1 unmapped, 1 rotated, 1 not boxes)" in line, line


def test_cvat_project_export_finds_each_subset_folder(tmp_path):
    src, out = tmp_path / "custom", tmp_path / "out"
    body = "".join(f'  <image id="{i}" name="1.jpg" subset="{subset}" task_id="3" width="{W}" height="{H}">\n'
                   f'{cvat_box("handwriting", box)}  </image>\n'
                   for i, (subset, box) in enumerate((("Train", BOX), ("Validation", (1.25, 2.5, 199.75, 97.5)))))
    for subset in ("Train", "Validation"):
        page(src / "images" / subset / "1.jpg", marker=(0, 0, 5 if subset == "Train" else 9, 5))
    text(src / "annotations.xml", CVAT_HEAD.replace("<task>", "<project>").replace("</task>", "</project>") + body
         + "</annotations>\n")
    report = convert(src, out)
    assert pixels(out, "Train__1") == near(BOX) and pixels(out, "Validation__1") == near((1.25, 2.5, 199.75, 97.5))
    assert boxes_add_up(report) == {"source": 2, "converted": 2}


def test_cvat_video_export_and_doctype_are_refused_in_one_line(tmp_path):
    src = tmp_path / "custom"
    page(src / "images" / "frame_000000.png")
    text(src / "annotations.xml", CVAT_HEAD + '  <track id="0" label="handwriting" source="manual">\n'
         + cvat_box("handwriting", BOX, ' frame="0" outside="0" keyframe="1"') + "  </track>\n</annotations>\n")
    with pytest.raises(UserError, match=r"^custom/annotations.xml: holds <track> elements, so it is a 'CVAT for "
                                        r"video 1.1' export; export the task again as 'CVAT for images 1.1'$"):
        convert(src, tmp_path / "out")
    text(src / "annotations.xml", '<?xml version="1.0"?>\n<!DOCTYPE annotations [<!ENTITY e "x">]>\n<annotations>'
         '<image id="0" name="frame_000000.png"/></annotations>\n')
    with pytest.raises(UserError, match=r"^custom/annotations.xml: holds a DOCTYPE or entity declaration"):
        convert(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- Label Studio JSON and JSON-MIN

def rect(x0: float, y0: float, x1: float, y1: float, rotation: float = 0, label: str = "handwriting") -> dict:
    """A rectanglelabels value as Label Studio stores it: percent of the image, from the top left corner."""
    return {"x": x0 / W * 100, "y": y0 / H * 100, "width": (x1 - x0) / W * 100, "height": (y1 - y0) / H * 100,
            "rotation": rotation, "rectanglelabels": [label]}


def result(value: dict, n: int) -> dict:
    return {"original_width": W, "original_height": H, "image_rotation": 0, "value": value, "id": f"r{n}Xa9",
            "from_name": "label", "to_name": "image", "type": "rectanglelabels", "origin": "manual"}


def annotation(ann_id: int, task_id: int, values: list[dict], updated: str, cancelled: bool = False) -> dict:
    return {"id": ann_id, "completed_by": 1, "result": [result(v, n) for n, v in enumerate(values)],
            "was_cancelled": cancelled, "ground_truth": False, "created_at": "2024-05-01T08:00:00.000000Z",
            "updated_at": updated, "draft_created_at": None, "lead_time": 12.5, "prediction": {}, "result_count": 0,
            "unique_id": f"u{ann_id}", "import_id": None, "last_action": None, "task": task_id, "project": 1,
            "updated_by": 1, "parent_prediction": None, "parent_annotation": None, "last_created_by": None}


def task(task_id: int, image: str, annotations: list[dict], upload: str | None = None) -> dict:
    return {"id": task_id, "annotations": annotations, "file_upload": upload, "drafts": [], "predictions": [],
            "data": {"image": image}, "meta": {}, "created_at": "2024-05-01T07:59:00.000000Z",
            "updated_at": "2024-05-03T09:00:00.000000Z", "inner_id": task_id, "total_annotations": len(annotations),
            "cancelled_annotations": sum(a["was_cancelled"] for a in annotations), "total_predictions": 0,
            "comment_count": 0, "unresolved_comment_count": 0, "last_comment_updated_at": None, "project": 1,
            "updated_by": 1, "comment_authors": []}


TASKS = [
    task(1, "/data/upload/1/3f2a9c1b-scan 1.jpg", [
        annotation(11, 1, [rect(0, 0, 10, 10)], "2024-05-01T08:10:00.000000Z"),
        annotation(12, 1, [rect(*BOX), rect(30, 50, 90, 70, rotation=7.5)], "2024-05-03T08:30:00.000000Z"),
        annotation(13, 1, [rect(5, 5, 50, 50)], "2024-05-04T08:00:00.000000Z", cancelled=True)],
        upload="3f2a9c1b-scan 1.jpg"),
    task(2, "/data/local-files/?d=scans%2Fp2.png", [annotation(21, 2, [rect(1.25, 2.5, 199.75, 97.5)],
                                                               "2024-05-02T08:00:00.000000Z")]),
    task(3, "/data/upload/1/0b1c2d3e-unlabelled.jpg", []),
    task(4, "/data/upload/1/9a8b7c6d-lost.jpg", [annotation(41, 4, [rect(*BOX)], "2024-05-02T09:00:00.000000Z")]),
]


def json_min(tasks: list[dict]) -> list[dict]:
    """What Label Studio's JSON-MIN export writes (its converter, label-studio-sdk 2.1, writes these very records for
    TASKS): one flat record per annotation not cancelled, the rectangles under the name of the labelling control
    ("label") with the original size in each, and a record without annotation for a task without any."""
    empty = {"annotator": None, "annotation_id": None, "created_at": None, "updated_at": None, "lead_time": None}
    return [record for t in tasks for record in [
        {"image": t["data"]["image"], "id": t["id"], "label": [
            {**r["value"], "original_width": r["original_width"], "original_height": r["original_height"]}
            for r in a["result"]], "annotator": 1, "annotation_id": a["id"], "created_at": a["created_at"],
         "updated_at": a["updated_at"], "lead_time": a["lead_time"]}
        for a in t["annotations"] if not a["was_cancelled"]] or [{"image": t["data"]["image"], "id": t["id"], **empty}]]


@pytest.mark.parametrize("variant", ["json", "json-min"])
def test_label_studio_export_converted_box_exact_with_the_latest_annotation(tmp_path, variant):
    src, out = tmp_path / "custom", tmp_path / "out"
    # JSON: the page under its original name; JSON-MIN: under the name of Label Studio's copy of the upload.
    upload = "scan 1" if variant == "json" else "3f2a9c1b-scan 1"
    page(src / "images" / f"{upload}.jpg")
    page(src / "scans" / "p2.png")
    tasks = TASKS if variant == "json" else json_min(TASKS)
    text(src / "project-1-at-2024-05-04-10-02-5c2f1a9e.json", json.dumps(tasks, indent=2))
    report = convert(src, out)
    assert report["format"] == "label-studio" and report["images"]["converted"] == 2
    assert pixels(out, upload.replace(" ", "_")) == near(BOX)  # annotation 12, the latest not cancelled
    assert pixels(out, "scans__p2") == near((1.25, 2.5, 199.75, 97.5))
    expected = {"source": 6, "converted": 2, "dropped_older_annotation": 1, "dropped_rotated": 1,
                "dropped_image_missing": 1, "dropped_cancelled_annotation": 1}
    if variant == "json-min":  # JSON-MIN leaves cancelled annotations out
        del expected["dropped_cancelled_annotation"]
        expected["source"] = 5
    assert boxes_add_up(report) == expected
    shown = "custom/project-1-at-2024-05-04-10-02-5c2f1a9e.json: task 1"
    assert report["problems"]["several_annotations"] == [
        f"{shown}: {3 if variant == 'json' else 2} annotations; the latest, 12 (updated 2024-05-03T08:30:00.000000Z), "
        f"used; not used: 11{', 13 (cancelled)' if variant == 'json' else ''}"]
    assert report["problems"]["unannotated_tasks"] == [
        "custom/project-1-at-2024-05-04-10-02-5c2f1a9e.json: task 3 (/data/upload/1/0b1c2d3e-unlabelled.jpg): not "
        "annotated (no annotation, or only cancelled ones); not used"]


def test_label_studio_export_without_its_images_names_the_file_and_the_fix(tmp_path):
    src = tmp_path / "custom"
    text(src / "project-1.json", json.dumps(TASKS))
    with pytest.raises(UserError) as err:
        convert(src, tmp_path / "out")
    assert str(err.value) == (
        "custom: 1 annotation file (label-studio: custom/project-1.json) but no images (.jpg, .png, .tif, .bmp, "
        ".webp); Label Studio: its JSON export holds no images, so copy them into custom/images/ from the folder it "
        "served them from (or from media/upload/ in its data folder, ~/.local/share/label-studio)")


def test_cvat_export_without_save_images_says_to_tick_it(tmp_path):
    src = tmp_path / "custom"
    cvat_export(src, [("scan 1.jpg", cvat_box("handwriting", BOX))], with_images=())
    with pytest.raises(UserError) as err:
        convert(src, tmp_path / "out")
    assert str(err.value) == ("custom: 1 annotation file (cvat: custom/annotations.xml) but no images (.jpg, .png, "
                              ".tif, .bmp, .webp); CVAT: export again with 'Save images' ticked")
