"""Convert the IAM archives into a data source: one image and one YOLO box per handwritten line for each form.

The archives are streamed (nothing extracted to disk), each form's PNG paired with its XML as they pass, and the
pairs converted in a process pool. A form whose labels could be wrong is skipped and counted, never written.
"""
from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from tqdm import tqdm

from hwdetect.cli import UserError
from hwdetect.files.atomic import atomic_dir, remove, write_atomic, write_json
from hwdetect.files.tables import table_text
from hwdetect.paths import shown
from hwdetect.sources.iam.archives import iter_files, not_a_folder
from hwdetect.sources.iam.forms import JPEG_QUALITY, convert_form, init_worker


def _check(downscale: object, workers: object) -> None:
    if isinstance(downscale, bool) or not isinstance(downscale, (int, float)) or not 0 < downscale <= 1:
        raise UserError(f"params.yaml: iam.downscale: expected a number in (0, 1] (1 = the full 2479 px width), "
                        f"got {downscale!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise UserError(f"params.yaml: iam.workers: expected an int >= 0 (0 = one per CPU core), got {workers!r}")


class _Pairing:
    """Pairs each form's PNG with its XML as the archives stream by, and submits the pair to the pool."""

    def __init__(self, pool: ProcessPoolExecutor, out: Path, downscale: float, limit: int, bar: tqdm):
        self.pool, self.out, self.downscale, self.limit, self.bar = pool, out, downscale, limit, bar
        self.where: dict[str, dict[str, str]] = {".png": {}, ".xml": {}}  # form id → archive it came from
        self.waiting: dict[str, dict[str, bytes]] = {".png": {}, ".xml": {}}  # content still without its partner
        self.duplicates: dict[str, str] = {}
        self.running: set[Future] = set()
        self.results: list[dict] = []

    def add(self, archive: str, name: str, data: bytes) -> None:
        form_id, suffix = name[:-4], name[-4:].lower()
        other = ".xml" if suffix == ".png" else ".png"
        if form_id in self.where[suffix]:
            self.duplicates[form_id] = f"{name} in {self.where[suffix][form_id]} and {archive}"
            return
        self.where[suffix][form_id] = archive
        self.bar.total = max(len(self.where[".png"]), len(self.where[".xml"]))
        if form_id not in self.waiting[other]:
            self.waiting[suffix][form_id] = data
            return
        partner = self.waiting[other].pop(form_id)
        png, xml = (data, partner) if suffix == ".png" else (partner, data)
        self.running.add(self.pool.submit(convert_form, form_id, png, xml, str(self.out), self.downscale))
        if len(self.running) >= self.limit:
            self.collect(FIRST_COMPLETED)

    def collect(self, until: str = ALL_COMPLETED) -> None:
        done, self.running = wait(self.running, return_when=until)
        for future in done:
            self.results.append(future.result())
            self.bar.update()


def convert(archives: list[Path], out_dir: Path, downscale: float = 0.25, workers: int = 0) -> dict:
    """Convert every form found in `archives` into out_dir (replaced only on success); return the summary."""
    _check(downscale, workers)
    for archive in archives:
        not_a_folder(archive, "run `dvc repro -f iam_download`")
    missing = [a for a in archives if not a.is_file()]
    if missing:
        raise UserError(f"{shown(missing[0])}: not found; run `dvc repro -f iam_download` (or put the archive there)")
    workers = workers or os.cpu_count() or 1
    with atomic_dir(out_dir) as out:
        (out / "images").mkdir()
        (out / "labels").mkdir()
        with ProcessPoolExecutor(workers, initializer=init_worker) as pool, tqdm(desc="iam forms", unit="form") as bar:
            pairing = _Pairing(pool, out, downscale, 2 * workers + 2, bar)
            # Smallest first: xml.tgz comes before the form images, so few images wait for their XML.
            for archive in sorted(archives, key=lambda a: (a.stat().st_size, a.name)):
                for name, data in iter_files(archive, (".png", ".xml")):
                    pairing.add(archive.name, name, data)
            pairing.collect()
        summary = _summary(pairing, out, downscale)
        if not summary["forms"]["converted"]:
            raise UserError(f"no IAM form could be converted from {', '.join(shown(a) for a in archives)} "
                            f"(skipped: {summary['forms']['skipped_by_reason'] or 'no form found'})")
        write_json(out / "summary.json", summary)
    return summary


def _summary(pairing: _Pairing, out: Path, downscale: float) -> dict:
    skipped = {i: f"duplicate form id: {d}" for i, d in pairing.duplicates.items()}
    reasons = Counter({"duplicate form id": len(skipped)})
    for suffix, without in ((".xml", "xml without image"), (".png", "image without xml")):
        for form_id in pairing.waiting[suffix]:
            if form_id not in skipped:
                skipped[form_id], reasons[without] = without, reasons[without] + 1
    converted = []
    for result in sorted(pairing.results, key=lambda r: r["id"]):
        if result["id"] in pairing.duplicates:  # written before its twin showed up: take it back
            remove(out / "images" / f"{result['id']}.jpg")
            remove(out / "labels" / f"{result['id']}.txt")
        elif "skipped" in result:
            skipped[result["id"]] = f"{result['skipped']}: {result['detail']}".rstrip(": ")
            reasons[result["skipped"]] += 1
        else:
            converted.append(result)
    rows = [(f"{r['id']}.jpg", r["writer"]) for r in converted]
    write_atomic(out / "groups.csv", table_text(("image", "group"), rows))
    footers = Counter(r["footer"] for r in converted)
    return {
        "forms": {"converted": len(converted), "skipped": len(skipped),
                  "writers": len({r["writer"] for r in converted}),
                  "skipped_by_reason": dict(sorted((k, v) for k, v in reasons.items() if v))},
        "lines": {"converted": sum(r["lines"] for r in converted),
                  "skipped_without_cmp": sum(len(r["lines_without_cmp"]) for r in converted)},
        "words_without_cmp": sum(r["words_without_cmp"] for r in converted),
        "footer": {"cropped_at_third_rule": footers["third rule"],
                   "cropped_below_last_line": footers["below last line"],
                   "note": "images are cropped just above the third ruled line (or, when it is not found, just below "
                           "the lowest labelled line) so the unlabelled signature in the footer is never seen"},
        "images": {"downscale": downscale, "format": f"grayscale JPEG, quality {JPEG_QUALITY}"},
        "skipped_forms": dict(sorted(skipped.items())),
        "lines_without_cmp": sorted(i for r in converted for i in r["lines_without_cmp"]),
    }


def metrics(summary: dict) -> dict:
    return {"forms_converted": summary["forms"]["converted"], "forms_skipped": summary["forms"]["skipped"],
            "writers": summary["forms"]["writers"], "lines_converted": summary["lines"]["converted"],
            "lines_skipped": summary["lines"]["skipped_without_cmp"],
            "footer_at_rule": summary["footer"]["cropped_at_third_rule"],
            "footer_below_last_line": summary["footer"]["cropped_below_last_line"]}
