"""Speed of the iam_convert stage on generated full-size forms (target: all 1,539 IAM forms in at most 3 minutes).

`python -m bench.iam_convert [--forms N] [--noise SIGMA] [--workers W]` writes N fake forms (2479 x 3542 grayscale
PNG with scanner-like noise, and their XML) into archives in a temporary folder, converts them with the stage's
own code and settings (iam.downscale; all cores unless --workers), then prints forms per second and the time
projected for 1,539 forms. No real IAM file is used.
"""
from __future__ import annotations

import argparse
import io
import os
import tarfile
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

from hwdetect.config import params
from hwdetect.sources.iam.convert import convert
from hwdetect.sources.iam.sample import FULL_WIDTH, make_form, tgz_bytes

IAM_FORMS = 1539
LETTERS = "abcdefghijklmnopr"
GROUPS = {"formsA-D.tgz": "abcd", "formsE-H.tgz": "efgh", "formsI-Z.tgz": "ijklmnopqrstuvwxyz"}


def _form(args: tuple[int, float]) -> tuple[str, bytes, bytes]:
    index, noise = args
    form_id = f"{LETTERS[index % len(LETTERS)]}{index // len(LETTERS) % 100:02d}-{index:03d}"
    form = make_form(form_id, f"{index % 657:03d}", width=FULL_WIDTH, lines=5 + index % 7, seed=index, noise=noise)
    return form.id, form.png, form.xml


def generate(folder: Path, forms: int, noise: float) -> tuple[list[Path], int]:
    """Write the four archives, streaming the images into them; return their paths and the total PNG bytes."""
    tars = {name: tarfile.open(folder / name, "w:gz", compresslevel=1) for name in GROUPS}
    xml, png_bytes = {}, 0
    with Pool(os.cpu_count()) as pool:
        for form_id, png, xml_data in pool.imap(_form, ((i, noise) for i in range(forms)), chunksize=2):
            name = next(n for n, letters in GROUPS.items() if form_id[0] in letters)
            info = tarfile.TarInfo(f"{name[:-4]}/{form_id}.png")
            info.size = len(png)
            tars[name].addfile(info, io.BytesIO(png))
            xml[f"xml/{form_id}.xml"] = xml_data
            png_bytes += len(png)
    for tar in tars.values():
        tar.close()
    (folder / "xml.tgz").write_bytes(tgz_bytes(xml))
    return [folder / name for name in [*GROUPS, "xml.tgz"]], png_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--forms", type=int, default=IAM_FORMS, help="forms to generate (default: %(default)s)")
    parser.add_argument("--noise", type=float, default=2.0,
                        help="scanner noise sigma in gray levels; 2 gives PNGs of about 4.4 MiB (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=0, help="conversion processes; 0 = all cores (default)")
    parser.add_argument("--downscale", type=float, help="default: params.yaml iam.downscale")
    args = parser.parse_args()
    downscale = args.downscale or params.load()["iam"]["downscale"]
    with tempfile.TemporaryDirectory(prefix="iam-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        archives, png_bytes = generate(folder, args.forms, args.noise)
        print(f"generated {args.forms} forms in {time.perf_counter() - start:.0f} s "
              f"(mean PNG {png_bytes / args.forms / 2**20:.2f} MiB, archives "
              f"{sum(a.stat().st_size for a in archives) / 2**20:.0f} MiB)", flush=True)
        start = time.perf_counter()
        summary = convert(archives, folder / "iam", downscale, args.workers)
        seconds = time.perf_counter() - start
    rate = summary["forms"]["converted"] / seconds
    print(f"converted {summary['forms']['converted']} forms ({summary['lines']['converted']} lines) in {seconds:.1f} s "
          f"with {args.workers or os.cpu_count()} workers on {os.cpu_count()} cores: {rate:.1f} forms/s; "
          f"projected for {IAM_FORMS} forms: {IAM_FORMS / rate:.0f} s (target <= 180 s)")


if __name__ == "__main__":
    main()
