"""Command `python -m hwdetect.preannotate`: the model's boxes on your unlabelled pages, as pre-annotations for
labelImg, CVAT and Label Studio, least-sure pages first.

Writes into --out one folder per format (yolo/, voc/, coco/, label-studio/; hwdetect/preannotate/formats.py says
which tool imports which) holding the --worst N pages the model is least sure of (uncertainty.py gives the rule),
and preannotations.csv: every input file with its rank, uncertainty, boxes and top score, or why it was skipped.
Pages are written as displayed (EXIF orientation applied), so every tool shows the boxes where they belong.
"""
from __future__ import annotations

import argparse
import hashlib
import tempfile
from pathlib import Path

from hwdetect.cli import UserError, cli, log
from hwdetect.files.atomic import atomic_dir
from hwdetect.paths import MODEL, shown
from hwdetect.predict import FORMATS as MODEL_FORMATS
from hwdetect.predict import PDF_SKIP, check_out, detect, input_files, load_model, model_imgsz, write_table
from hwdetect.preannotate.formats import FORMATS, write_all
from hwdetect.preannotate.uncertainty import CANDIDATE_CONF, least_sure_first, uncertainty
from hwdetect.sources.images import UnreadableImage, open_image, read_displayed_rgb, write_displayed
from hwdetect.training import runtime

CSV_COLUMNS = ("rank", "file", "page", "uncertainty", "boxes", "max_score", "status", "reason")


def read_page(path: Path, rel: str, staging: Path, model, settings: dict, conf: float) -> dict:
    """One page: its displayed image (turned into `staging` when EXIF says so), kept boxes and uncertainty."""
    import numpy as np

    rgb, orientation = read_displayed_rgb(path)
    name = rel.replace("/", "__")
    image = path
    if orientation != 1:
        image = staging / name
        write_displayed(open_image(path)[0], orientation, path, image)
    candidates = detect(model, np.ascontiguousarray(rgb[:, :, ::-1]), settings)
    kept = [b for b in candidates if b["score"] >= conf]
    return {"file": rel, "name": name, "image": image, "width": rgb.shape[1], "height": rgb.shape[0], "boxes": kept,
            "uncertainty": uncertainty(candidates, conf), "max_score": max((b["score"] for b in kept), default=0.0)}


def preannotate(model_path: Path, source: Path, out_dir: Path, formats: list[str], worst: int | None = None,
                conf: float = 0.25, imgsz: int | None = None, device: str | None = None) -> list[dict]:
    """Pre-annotate the least-sure pages under `source` into out_dir (replaced whole on success); the CSV rows."""
    from tqdm import tqdm

    if model_path.suffix.lower() not in MODEL_FORMATS or not model_path.is_file():
        raise UserError(f"--model {shown(model_path)}: expected an existing .pt or .onnx file (dvc repro builds "
                        f"models/detector/best.pt)")
    if unknown := [f for f in formats if f not in FORMATS]:
        raise UserError(f"--formats: unknown format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    if not 0 < conf <= 1 or worst is not None and worst < 1:
        raise UserError(f"expected 0 < --conf <= 1 and --worst >= 1; got {conf}, {worst}")
    files = input_files(source)
    check_out(out_dir, source, "preannotations.csv")
    runtime.setup()
    model, fmt = load_model(model_path), MODEL_FORMATS[model_path.suffix.lower()]
    settings = {"imgsz": model_imgsz(model, model_path, fmt, imgsz), "conf": CANDIDATE_CONF, "iou": 0.7,
                "device": device, "keep_duplicates": False}
    version = f"{model_path.name}@{hashlib.sha256(model_path.read_bytes()).hexdigest()[:12]}"
    pages, skipped = [], []
    with tempfile.TemporaryDirectory() as staging, atomic_dir(out_dir) as out:
        for path in tqdm(files, desc="pre-annotate", unit="file"):
            rel = path.name if path == source else path.relative_to(source).as_posix()
            try:
                if path.suffix.lower() == ".pdf":
                    raise UnreadableImage(PDF_SKIP)
                pages.append(read_page(path, rel, Path(staging), model, settings, conf))
            except UnreadableImage as err:
                skipped.append({"file": rel, "status": "skipped", "reason": str(err)})
        ranked = least_sure_first(pages)
        chosen = ranked[:worst]
        write_all(out, chosen, formats, version)
        names = {p["name"] for p in chosen}
        rows = [{**{k: p[k] for k in ("file", "uncertainty", "max_score")}, "rank": rank, "boxes": len(p["boxes"]),
                 "page": p["name"] if p["name"] in names else "",
                 "status": "written" if p["name"] in names else "not chosen"}
                for rank, p in enumerate(ranked, start=1)] + skipped
        write_table(out / "preannotations.csv", CSV_COLUMNS, rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--source", type=Path, required=True, help="a page image, or a folder searched recursively")
    parser.add_argument("--out", type=Path, required=True, help="output folder (new, or an earlier pre-annotation)")
    parser.add_argument("--model", type=Path, default=MODEL, help="a .pt or .onnx model (default: the pipeline's)")
    parser.add_argument("--worst", type=int, help="pre-annotate only the N pages the model is least sure of")
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated (default: {','.join(FORMATS)})")
    parser.add_argument("--conf", type=float, default=0.25, help="lowest score of a pre-annotated box (default 0.25)")
    parser.add_argument("--imgsz", type=int, help="inference size (default: the model's training/export size)")
    parser.add_argument("--device", help="torch device, e.g. cpu or 0 (default: the first GPU if any, else cpu)")
    args = parser.parse_args()
    source, out = args.source.absolute(), args.out.absolute()
    rows = preannotate(args.model.absolute(), source, out, [f.strip() for f in args.formats.split(",") if f.strip()],
                       args.worst, args.conf, args.imgsz, args.device)
    written = [r for r in rows if r["status"] == "written"]
    log.info(f"preannotate: {len(written)} of {len(rows)} files pre-annotated, least sure first, with "
             f"{sum(r['boxes'] for r in written)} boxes → {shown(out)} (see preannotations.csv)")


if __name__ == "__main__":
    cli(main)
