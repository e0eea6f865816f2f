"""Faults and bad input for `predict` and `preannotate`: model files that are no detector, a GPU that is not there,
and file names holding any bytes. Each case runs the real command in a copy of the project (tests/faults.py)."""
from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from conftest import copy_project, run
from faults import refused
from pdf_fixtures import encrypted_pdf, poster_pdf

COMMANDS = ("hwdetect.predict", "hwdetect.preannotate")
# Names that break naive code: not UTF-8, CSV specials, a newline, a leading dash, spaces, an emoji.
ODD_NAMES = (b"scan-\xff.jpg", b'a,b "quoted".png', b"new\nline.png", b"-dash.png", b" spaced name .png",
             "emoji \U0001F600.png".encode())
# (file in model_files, what the error line says)
BAD_MODELS = [
    ("dict.pt", "cannot load the model"), ("tensor.pt", "cannot load the model"), ("truncated.pt", "cannot load"),
    ("empty.pt", "the file is empty"), ("text.pt", "cannot load the model"), ("best.pt", "is a folder"),
    ("classifier.pt", "is a classify model"), ("segmenter.pt", "is a segment model"),
    ("coco80.pt", "detects 80 classes, expected 1"), ("identity.onnx", "no Ultralytics metadata"),
    ("classifier.onnx", "is a classify model"), ("text.onnx", "not a readable ONNX model"),
]


@pytest.fixture(scope="session")
def fault_project(tmp_path_factory) -> Path:
    """A copy of the project whose Ultralytics settings already exist, so that a run changes none of its files."""
    project = copy_project(tmp_path_factory.mktemp("faults") / "project")
    run([sys.executable, "-c", "from hwdetect.training import runtime; runtime.setup()"], project)
    return project


def onnx_graph(path: Path, output: list[int], meta: dict[str, str]) -> None:
    """A tiny ONNX model with an image input: the identity (4-D output) or a classifier's mean (2-D output)."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, output)
    node = (helper.make_node("Identity", ["images"], ["out"]) if len(output) == 4 else
            helper.make_node("ReduceMean", ["images"], ["out"], axes=[2, 3], keepdims=0))
    model = helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=[helper.make_opsetid("", 13)])
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


@pytest.fixture(scope="session")
def model_files(tmp_path_factory) -> Path:
    """An untrained one-class detector (detector.pt, fast to build) and files that are no such detector."""
    from hwdetect.training import runtime

    runtime.setup()
    import torch
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    folder = tmp_path_factory.mktemp("model_files")
    for name, names in (("detector.pt", {0: "handwriting"}), ("cats.pt", {0: "cat"})):  # cats: a detector of cats
        net = DetectionModel("yolov8n.yaml", nc=1, verbose=False)
        net.names, net.args = names, {"imgsz": 64, "task": "detect"}
        torch.save({"model": net, "train_args": {"imgsz": 64, "task": "detect"}, "epoch": -1}, folder / name)
    YOLO("yolov8n.yaml").save(folder / "coco80.pt")
    YOLO("yolov8n-cls.yaml").save(folder / "classifier.pt")
    YOLO("yolov8n-seg.yaml").save(folder / "segmenter.pt")
    torch.save({"weights": [1, 2, 3]}, folder / "dict.pt")
    torch.save(torch.zeros(3), folder / "tensor.pt")
    data = (folder / "detector.pt").read_bytes()
    (folder / "truncated.pt").write_bytes(data[: len(data) // 2])
    (folder / "empty.pt").write_bytes(b"")
    (folder / "text.pt").write_text("these are not weights\n")
    (folder / "best.pt").mkdir()
    onnx_graph(folder / "identity.onnx", [1, 3, 64, 64], {})
    onnx_graph(folder / "classifier.onnx", [1, 3], {"task": "classify", "names": "{0: 'a', 1: 'b', 2: 'c'}",
                                                    "imgsz": "[64, 64]"})
    (folder / "text.onnx").write_text("not a protobuf\n")
    return folder


def page(path: Path, size: tuple[int, int] = (160, 96)) -> None:
    img = Image.new("RGB", size, (245, 243, 235))
    ImageDraw.Draw(img).line([(10, 40), (size[0] - 10, 44)], fill=(20, 30, 120), width=3)
    with open(path, "wb") as f:  # a file object: the name may be bytes that are not UTF-8
        img.save(f, format="JPEG" if path.suffix.lower() in (b".jpg", ".jpg") else "PNG")


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in ("a.png", "b.jpg"):
        page(folder / name)
    return folder


def args(command: str, model: Path, source: Path, out: Path, *extra: str) -> list[str]:
    return [command, "--model", str(model), "--source", str(source), "--out", str(out), *extra]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name, problem", BAD_MODELS, ids=[m for m, _ in BAD_MODELS])
def test_a_model_file_that_is_no_one_class_detector_is_refused_in_one_line(command, name, problem, fault_project,
                                                                            model_files, pages, tmp_path):
    line = refused(args(command, model_files / name, pages, tmp_path / "out"), fault_project, "--model", name,
                   problem, watch=(model_files, tmp_path))
    assert "dvc repro" in line and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_one_class_detector_of_something_else_is_refused_naming_its_classes(command, fault_project, model_files,
                                                                               pages, tmp_path):
    line = refused(args(command, model_files / "cats.pt", pages, tmp_path / "out"), fault_project, "--model",
                   "cats.pt", "its classes are cat, none of them handwriting", watch=(model_files, tmp_path))
    assert "dvc repro" in line and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_gpu_device_on_a_machine_without_cuda_is_refused(command, fault_project, model_files, pages, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    line = refused(args(command, model_files / "detector.pt", pages, tmp_path / "out", "--device", "0"),
                   fault_project, "--device", "no CUDA GPU", "--device cpu", watch=(model_files, tmp_path))
    assert not (tmp_path / "out").exists(), line


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_source_folder_is_refused(command, fault_project, model_files, tmp_path):
    refused(args(command, model_files / "detector.pt", tmp_path / "nowhere", tmp_path / "out"), fault_project,
            "--source", "nowhere", "not found", watch=(model_files, tmp_path))


def odd_source(tmp_path: Path) -> Path:
    source = tmp_path / "odd"
    source.mkdir()
    for name in ODD_NAMES:
        page(Path(os.fsdecode(os.path.join(os.fsencode(source), name))))
    return source


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as f:
        return list(csv.DictReader(f))


def test_predict_carries_file_names_of_any_bytes_to_every_output(fault_project, model_files, tmp_path):
    source, out = odd_source(tmp_path), tmp_path / "out"
    result = run([sys.executable, "-m", *args("hwdetect.predict", model_files / "detector.pt", source, out,
                                             "--crops")], fault_project)
    assert "Traceback" not in result.stderr
    names = sorted(os.fsdecode(n) for n in ODD_NAMES)
    rows = read_rows(out / "predictions.csv")
    assert sorted(r["file"] for r in rows) == names and {r["status"] for r in rows} == {"ok"}
    annotated = sorted(os.listdir(os.fsencode(out / "annotated")))
    assert annotated == sorted(n + b".jpg" for n in ODD_NAMES)
    assert sorted(os.listdir(os.fsencode(out / "json"))) == sorted(n + b".json" for n in ODD_NAMES)
    assert (out / "json" / (os.fsdecode(ODD_NAMES[0]) + ".json")).read_text(encoding="ascii")


def test_preannotate_carries_file_names_of_any_bytes_to_every_format(fault_project, model_files, tmp_path):
    source, out = odd_source(tmp_path), tmp_path / "out"
    result = run([sys.executable, "-m", *args("hwdetect.preannotate", model_files / "detector.pt", source, out)],
                 fault_project)
    assert "Traceback" not in result.stderr
    rows = read_rows(out / "preannotations.csv")
    assert sorted(r["file"] for r in rows) == sorted(os.fsdecode(n) for n in ODD_NAMES)
    assert {r["status"] for r in rows} == {"written"}
    for folder in ("yolo/obj_train_data", "voc", "coco/images/default", "label-studio/images"):
        present = set(os.listdir(os.fsencode(out / folder)))
        assert set(ODD_NAMES) <= present, folder
    voc = (out / "voc" / (os.fsdecode(ODD_NAMES[0]).removesuffix(".jpg") + ".xml")).read_bytes()
    assert b"<filename>scan-\xff.jpg</filename>" in voc
    tasks = (out / "label-studio" / "tasks.json").read_text(encoding="ascii")
    assert "scan-%FF.jpg" in tasks and "emoji%20%F0%9F%98%80.png" in tasks


@pytest.mark.parametrize("command, table, done", [("hwdetect.predict", "predictions.csv", "ok"),
                                                  ("hwdetect.preannotate", "preannotations.csv", "written")])
def test_every_page_of_a_multi_page_tiff_is_read_and_named_by_page(command, table, done, fault_project,
                                                                     model_files, tmp_path):
    """A scanner's multi-page TIFF is three pages, not its first only: each is named <file>.page00N."""
    from PIL import Image

    source = tmp_path / "in"
    source.mkdir()
    pages = [Image.new("RGB", (96 + 8 * n, 128), (255, 255 - 40 * n, 255)) for n in range(3)]
    pages[0].save(source / "batch.tif", save_all=True, append_images=pages[1:])
    Image.new("RGB", (80, 64), "white").save(source / "single.png")
    out = tmp_path / "out"
    result = run([sys.executable, "-m", *args(command, model_files / "detector.pt", source, out)], fault_project)
    rows = read_rows(out / table)
    assert sorted(r["file"] for r in rows) == [f"batch.tif.page00{n}" for n in (1, 2, 3)] + ["single.png"]
    assert {r["status"] for r in rows} == {done}
    if command == "hwdetect.predict":
        widths = {r["file"]: int(r["width"]) for r in rows}
        assert [widths[f"batch.tif.page00{n}"] for n in (1, 2, 3)] == [96, 104, 112] and "4/4 [" in result.stderr


@pytest.mark.parametrize("imgsz, problem", [("100000", "must be <= 4,096, got 100,000; use 32 to 4,096"),
                                            ("100", "100 is not a multiple of 32"), ("abc", "invalid int value")])
def test_an_imgsz_the_params_check_would_refuse_is_refused(imgsz, problem, fault_project, model_files, pages,
                                                         tmp_path):
    refused(args("hwdetect.predict", model_files / "detector.pt", pages, tmp_path / "out", "--imgsz", imgsz),
            fault_project, "--imgsz", problem, watch=(model_files, tmp_path))


def test_a_password_protected_pdf_alone_says_so_and_how_to_remove_it(fault_project, model_files, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    (source / "locked.pdf").write_bytes(encrypted_pdf())
    line = refused(args("hwdetect.predict", model_files / "detector.pt", source, tmp_path / "out"), fault_project,
                   "--source", "nothing to predict", "password-protected", "qpdf", watch=(model_files, tmp_path))
    assert "scan it again" not in line and not (tmp_path / "out").exists()


def test_skipped_input_and_a_page_too_large_give_a_warning_with_counts_and_reasons(fault_project, model_files,
                                                                                    pages, tmp_path):
    (pages / "locked.pdf").write_bytes(encrypted_pdf())
    (pages / "notes.txt").write_text("not a page\n")
    poster_pdf(pages / "poster.pdf")
    out = tmp_path / "out"
    result = run([sys.executable, "-m", *args("hwdetect.predict", model_files / "detector.pt", pages, out)],
                 fault_project)
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert warnings[0].startswith("warning: predict: 3 of 6 pages or files skipped (")
    assert "password-protected" in warnings[0] and "not an image file" in warnings[0] and "--pdf-dpi 66" in warnings[0]
    rows = {r["file"]: r for r in read_rows(out / "predictions.csv")}
    assert [f for f, r in rows.items() if r["status"] == "ok"] == ["a.png", "b.jpg", "poster.pdf.page002"]
    assert rows["poster.pdf.page001"]["reason"] == ("page 1: 200 x 200 inches is 40000 x 40000 pixels at 200 dpi, "
                                                    "over the limit of 178,956,970; pass --pdf-dpi 66 or lower for it")
    assert (rows["poster.pdf.page002"]["width"], rows["poster.pdf.page002"]["height"]) == ("400", "400")


def test_nothing_usable_is_an_error_and_writes_nothing(fault_project, model_files, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    (source / "notes.txt").write_text("not a page\n")
    (source / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    poster_pdf(source / "poster.pdf", small_page=False)
    line = refused(args("hwdetect.predict", model_files / "detector.pt", source, tmp_path / "out"), fault_project,
                   "--source", "nothing to predict", "not an image file", "--pdf-dpi 66", watch=(model_files, tmp_path))
    assert not (tmp_path / "out").exists(), line
