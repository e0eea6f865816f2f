"""Stage `source@<name>`: check one selected data source and index it for the split stage.

A source is a folder data/sources/<name>/ with images/, labels/ (YOLO txt, class 0 = handwriting, one file per
image) and groups.csv (image,group). The index data/selected/<name>.csv lists image, group and the md5 of the
image and its label, so the split stage re-runs when any of them changes, and only for the selected sources.
"""
from __future__ import annotations

import argparse

from hwdetect import paths
from hwdetect.cli import UserError, cli, log
from hwdetect.config import params
from hwdetect.files.atomic import write_atomic
from hwdetect.sources.index import index, index_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog="Reads params.yaml: data.sources.")
    parser.add_argument("name", help="source name, one of params.yaml data.sources")
    name = parser.parse_args().name
    selected = params.load()["data"]["sources"]
    if name not in selected:
        raise UserError(f"params.yaml: data.sources: {name!r} is not selected (selected: {', '.join(selected)})")
    rows = index(paths.source_dir(name))
    write_atomic(paths.source_index(name), index_text(rows))
    log.info(f"source {name}: {len(rows)} images, {len({r[1] for r in rows})} groups, "
             f"{sum(r[4] for r in rows)} boxes")


if __name__ == "__main__":
    cli(main)
