"""Stage `split`: merge the selected sources into train/val/test in the Ultralytics layout.

Reads each source in `data.sources` through its index data/selected/<source>.csv (stage `source`) and writes
`data/split/` with images/<split>/, labels/<split>/, dataset.yaml and manifest.csv. Groups (a page, a writer) never
straddle two splits; each source is split by the ratios on its own, so mixing sources keeps their proportions.
"""
from __future__ import annotations

import argparse

from hwdetect import paths
from hwdetect.cli import cli, log
from hwdetect.config import params
from hwdetect.sources.split import write_split


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0],
                            epilog="Reads params.yaml: seed, data.sources, split.ratios.").parse_args()
    p = params.load()
    counts, warnings = write_split(paths.SPLIT, p["data"]["sources"], p["split"]["ratios"], p["seed"])
    log.info("split: " + ", ".join(f"{s} {n} images" for s, n in counts.items()))
    for warning in warnings:
        log.warning(f"warning: {warning}")


if __name__ == "__main__":
    cli(main)
