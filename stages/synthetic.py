"""Stage `synthetic`: generate document pages with YOLO labels, one box per handwritten line.

Output: data/sources/synthetic/ (images/*.jpg, labels/*.txt, groups.csv for the split stage) and
reports/synthetic/contact_sheet.png (sample pages with their boxes, to look at the data). Each page is seeded by
(seed, page index), so the result does not depend on the number of worker processes.
"""
from __future__ import annotations

import argparse

from hwdetect import paths
from hwdetect.cli import cli
from hwdetect.config import params
from hwdetect.synth.generate import generate, page_spec


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog="Reads params.yaml: seed, synthetic.").parse_args()
    p = params.load()
    s = p["synthetic"]
    generate(paths.source_dir("synthetic"), p["seed"], s["pages"], page_spec(s), s["workers"],
             paths.SYNTHETIC_REPORT, s["contact_sheet"])


if __name__ == "__main__":
    cli(main)
