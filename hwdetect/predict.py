"""Command `python -m hwdetect.predict`: find handwritten lines in your page images with best.pt or best.onnx.

Writes into --out: annotated/<file>.jpg (boxes in red with scores), json/<file>.json (boxes as xyxy in pixels of
the image as displayed, i.e. after its EXIF orientation, in reading order, with scores, image size, model and
settings), crops/<file>/001.png ... with --crops (one per box, for an OCR step) and predictions.csv (one row per
input file: boxes found and top score, or why it was skipped). <file> is the input's path under --source.
Grayscale, RGBA, 16-bit and large images are read as 8-bit RGB; the model letterboxes them to a square of --imgsz
(default: the size the model was trained (.pt) or exported (.onnx) at). Both formats get that same square input
(Ultralytics' rect=False; its default for .pt pads to a smaller rectangle instead), so they give the same boxes.
Each page of a PDF is rendered at --pdf-dpi (hwdetect/sources/pdf.py) and named <file>.page001, <file>.page002, ...;
so is each page of a multi-page TIFF (or animated PNG/WebP). Pages are read one at a time, so memory stays that of
one page; a page of more than 178,956,970 pixels (Pillow's limit, for a PDF page at --pdf-dpi too) is skipped with
the reason. A run where some input was skipped ends with a `warning:` line; one where nothing could be read, with
an error (exit code 2) and no output.
A box lying inside a higher-scored box of the same line (a word group next to its line) is dropped as a duplicate
unless --keep-duplicates is given (hwdetect/evaluation/lines.py). Each box is checked by the verifier beside the
model (verifier.pt, or --verifier FILE): one it takes for print has its score multiplied by its handwriting
probability before --conf applies (hwdetect/verify); --no-verifier keeps the detector's scores.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from hwdetect.cli import ArgumentParser, UserError, cli, log
from hwdetect.config.checks import image_size
from hwdetect.detection import FORMATS, checked_by, close_zoom, detect, load_model, model_imgsz
from hwdetect.evaluation.detector import check_file
from hwdetect.files.atomic import atomic_dir, command_name, ready_output
from hwdetect.files.tables import write_table
from hwdetect.files.walk import visible_files
from hwdetect.paths import MODEL, shown
from hwdetect.sources.images import IMAGE_SUFFIXES, ImagePages, UnreadableImage
from hwdetect.sources.pdf import PDF_DPI, PdfPages, page_name
from hwdetect.training import runtime
from hwdetect.verify.options import add_arguments, verifier_path

CSV_COLUMNS = ("file", "status", "width", "height", "boxes", "max_score", "reason")


def input_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise UserError(f"--source {shown(source)}: not found; pass a folder of page images or one image")
    files = visible_files(source)
    if not files:
        raise UserError(f"--source {shown(source)}: the folder has no files; put page images in it")
    return files


def check_out(out: Path, source: Path) -> None:
    """Refuse an --out that is a project folder, lies in --source, or holds anything but this command's own output."""
    ready_output(out.absolute(), command_name(), [source])


def write_image(path: Path, bgr, *params: int) -> None:
    """Encode in memory and write the bytes: OpenCV never sees the path, whose name may be any bytes."""
    import cv2

    ok, data = cv2.imencode(path.suffix, bgr, list(params))
    if not ok:
        raise UserError(f"{shown(path)}: OpenCV cannot encode this image as {path.suffix}")
    path.write_bytes(data.tobytes())


def draw(bgr, boxes: list[dict]):
    import cv2

    thick = max(1, round(max(bgr.shape[:2]) / 1000))
    for box in boxes:
        x0, y0, x1, y1 = (round(v) for v in box["xyxy"])
        cv2.rectangle(bgr, (x0, y0), (x1, y1), (0, 0, 220), thick)
        cv2.putText(bgr, f"{box['score']:.2f}", (x0, max(0, y0 - 3 * thick)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thick, (0, 0, 220), thick)
    return bgr


def open_pages(path: Path, dpi: int) -> ImagePages | PdfPages:
    return PdfPages(path, dpi) if path.suffix.lower() == ".pdf" else ImagePages(path)


def predict_file(model, path: Path, rel: str, out: Path, settings: dict, crops: bool, bar) -> list[dict]:
    """Predict one image, or each page of a PDF or multi-page image as it is read, and write the outputs; the rows
    of predictions.csv (one per page). `bar` counts pages: a file's pages are added to its total once known."""
    try:
        pages = open_pages(path, settings["pdf_dpi"])
    except UnreadableImage as err:
        bar.update()
        return [{"file": rel, "status": "skipped", "reason": str(err)}]
    rows, single = [], len(pages) == 1 and isinstance(pages, ImagePages)
    bar.total += len(pages) - 1
    with pages:
        for index in range(len(pages)):
            name = rel if single else page_name(rel, index + 1)
            try:
                rgb = pages.page(index)
            except UnreadableImage as err:
                rows.append({"file": name, "status": "skipped", "reason": str(err)})
            else:
                rows.append(predict_image(model, rgb, pages.orientation if single else 1, name, out, settings, crops))
            bar.update()
    return rows


def predict_image(model, rgb, orientation: int, rel: str, out: Path, settings: dict, crops: bool) -> dict:
    """Predict one upright RGB image and write its outputs under the name `rel`; its row of predictions.csv."""
    import cv2
    import numpy as np

    h, w = rgb.shape[:2]
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    boxes = detect(model, bgr, settings)
    for number, box in enumerate(boxes, start=1) if crops else ():
        x0, y0, x1, y1 = box["xyxy"]
        crop = Path("crops") / rel / f"{number:03d}.png"
        (out / crop).parent.mkdir(parents=True, exist_ok=True)
        write_image(out / crop, bgr[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))])
        box["crop"] = crop.as_posix()
    for folder in ("annotated", "json"):
        (out / folder / rel).parent.mkdir(parents=True, exist_ok=True)
    write_image(out / "annotated" / f"{rel}.jpg", draw(bgr.copy(), boxes), cv2.IMWRITE_JPEG_QUALITY, 90)
    record = {"file": rel, "width": w, "height": h, "exif_orientation": orientation, "boxes": boxes, **settings,
              "coordinates": "xyxy pixels of the image as displayed (EXIF orientation applied), origin top-left"}
    (out / "json" / f"{rel}.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return {"file": rel, "status": "ok", "width": w, "height": h, "boxes": len(boxes),
            "max_score": max((b["score"] for b in boxes), default=""), "reason": ""}


def check_settings(imgsz: int | None, conf: float, iou: float, pdf_dpi: int) -> None:
    if imgsz is not None and (problem := image_size(imgsz)):
        raise UserError(f"--imgsz: {problem}")
    if not 0 < conf <= 1 or not 0 < iou <= 1 or not 36 <= pdf_dpi <= 1200:
        raise UserError(f"expected 0 < --conf <= 1, 0 < --iou <= 1 and 36 <= --pdf-dpi <= 1200; got {conf}, {iou}, "
                        f"{pdf_dpi}")


def skip_reasons(rows: list[dict]) -> str:
    """`2 <reason>; 1 <reason>` for the skipped rows, most common reason first."""
    reasons = Counter(re.sub(r"^page \d+: ", "", r["reason"]) for r in rows if r["status"] == "skipped")
    listed = "; ".join(f"{n} {reason}" for reason, n in reasons.most_common(3))
    more = f"; {len(reasons) - 3} other reasons" if len(reasons) > 3 else ""
    return listed + more


def predict(model_path: Path, source: Path, out_dir: Path, imgsz: int | None = None, conf: float = 0.25,
            iou: float = 0.7, crops: bool = False, device: str | None = None,
            keep_duplicates: bool = False, pdf_dpi: int = PDF_DPI, verifier: Path | None = None) -> list[dict]:
    """Predict every page of every file under `source` into out_dir (replaced whole on success); the rows of
    predictions.csv. UserError, and nothing written, when not one page could be read."""
    from tqdm import tqdm

    check_file(model_path, "--model")
    check_settings(imgsz, conf, iou, pdf_dpi)
    files = input_files(source)
    check_out(out_dir, source)
    runtime.setup()
    runtime.check_device(device, "--device", "pass --device cpu, or leave it out")
    model, fmt = load_model(model_path), FORMATS[model_path.suffix.lower()]
    checker = checked_by(verifier)
    settings = {"model": shown(model_path), "model_format": fmt, "conf": conf, "iou": iou, "device": device,
                "imgsz": model_imgsz(model, model_path, fmt, imgsz, close_zoom(checker)),
                "keep_duplicates": keep_duplicates, "pdf_dpi": pdf_dpi, "verifier": checker}
    rows = []
    with atomic_dir(out_dir, inputs=[source]) as out, tqdm(total=len(files), desc="predict", unit="page") as bar:
        for path in files:
            rel = path.name if path == source else path.relative_to(source).as_posix()
            rows.extend(predict_file(model, path, rel, out, settings, crops, bar))
        if not any(r["status"] == "ok" for r in rows):
            raise UserError(f"--source {shown(source)}: nothing to predict, every page or file was skipped "
                            f"({skip_reasons(rows)}); give page images ({', '.join(IMAGE_SUFFIXES)}) or PDFs")
        write_table(out / "predictions.csv", CSV_COLUMNS, rows)
    return rows


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--model", type=Path, default=MODEL, help="a .pt or .onnx model (default: the pipeline's best.pt)")
    parser.add_argument("--source", type=Path, required=True, help="an image, or a folder searched recursively")
    parser.add_argument("--out", type=Path, required=True, help="output folder (new, or an earlier predict output)")
    parser.add_argument("--imgsz", type=int, help="inference size, a multiple of 32 from 32 to 4096 "
                        "(default: the model's training/export size)")
    parser.add_argument("--conf", type=float, default=0.25, help="lowest score kept (default 0.25)")
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold (default 0.7)")
    parser.add_argument("--crops", action="store_true", help="also save one PNG crop per box")
    parser.add_argument("--keep-duplicates", action="store_true",
                        help="keep boxes lying inside a higher-scored box of the same line (dropped by default)")
    parser.add_argument("--device", help="torch device, e.g. cpu or 0 (default: the first GPU if any, else cpu)")
    parser.add_argument("--pdf-dpi", type=int, default=PDF_DPI, help=f"PDF pages are rendered at this resolution "
                                                                       f"(default {PDF_DPI})")
    add_arguments(parser)
    args = parser.parse_args()
    model, source, out = (p.absolute() for p in (args.model, args.source, args.out))
    rows = predict(model, source, out, args.imgsz, args.conf, args.iou, args.crops, args.device, args.keep_duplicates,
                   args.pdf_dpi, verifier_path(model, args.verifier, args.no_verifier))
    done = [r for r in rows if r["status"] == "ok"]
    if len(done) < len(rows):
        log.warning(f"warning: predict: {len(rows) - len(done)} of {len(rows)} pages or files skipped "
                    f"({skip_reasons(rows)}); each is listed in {shown(out / 'predictions.csv')}")
    log.info(f"predict: {len(done)} pages, {sum(r['boxes'] for r in done)} boxes, {len(rows) - len(done)} skipped; "
             f"see {shown(out / 'predictions.csv')}")


if __name__ == "__main__":
    cli(main)
