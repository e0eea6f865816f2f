"""Stage `iam_convert`: turn the IAM archives into the source `data/sources/iam/`.

Output: images/<form id>.jpg (grayscale, JPEG quality 90, cropped above the footer rule, scaled by iam.downscale),
labels/<form id>.txt (one YOLO box per handwritten line), groups.csv (image, writer id: the split stage keeps a
writer's forms in one split) and summary.json (forms and lines converted, skipped ones with their reasons, how each
footer was removed; one `warning:` line when any form was skipped). The counts also go to metrics/iam.json. A form whose labels could be wrong is skipped and
counted, never written; the archives are streamed (nothing extracted to disk) and the forms converted in a
process pool.
"""
from __future__ import annotations

import argparse

from hwdetect import paths
from hwdetect.cli import cli, log
from hwdetect.config import params
from hwdetect.files.atomic import write_json
from hwdetect.paths import shown
from hwdetect.sources.iam.archives import archive_paths
from hwdetect.sources.iam.convert import convert, metrics


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0],
                            epilog="Reads params.yaml: iam.archives, iam.archives_dir, iam.downscale, iam.workers."
                            ).parse_args()
    cfg = params.load()["iam"]
    out = paths.source_dir("iam")
    archives = archive_paths(paths.ROOT / cfg["archives_dir"], cfg["archives"])
    summary = convert(archives, out, cfg["downscale"], cfg["workers"])
    write_json(paths.metrics_file("iam"), metrics(summary))
    f = summary["forms"]
    log.info(f"iam_convert: {f['converted']} forms ({summary['lines']['converted']} lines, {f['writers']} writers) "
             f"written to {shown(out)}; {f['skipped']} skipped {f['skipped_by_reason']}; "
             f"see {shown(out / 'summary.json')}")
    if f["skipped"]:
        reasons = ", ".join(f"{n} {reason}" for reason, n in f["skipped_by_reason"].items())
        log.warning(f"warning: iam_convert: {f['skipped']} of {f['skipped'] + f['converted']} forms skipped "
                    f"({reasons}); each is listed in {shown(out / 'summary.json')}")


if __name__ == "__main__":
    cli(main)
