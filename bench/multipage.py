"""Multi-page input figures: pages per second and peak memory of predict's page reader on a 1,000-page fax TIFF and
a 500-page PDF, and of `python -m hwdetect.predict` itself on the first --limit pages of each when a model exists.

The files are generated (seeded) into runs/bench/multipage/: fax-like pages, A4 at 100 dpi (827 x 1169), 1-bit,
the TIFF Group 4 compressed, each page with its own lines of pen strokes. Each measurement runs in a child process;
its peak memory is the child's peak resident set (VmHWM), printed beside that of a child that only imports the
same modules, so the difference is what the pages cost; predict's time is taken less that of a one-page run (imports
and model loading). Pages read at a steady rate: the time per page of the
first and of the last 100 pages is printed too (reading page N must not cost more than page 1).

Run from the project root: `python -m bench.multipage [--tiff-pages 1000] [--pdf-pages 500] [--limit 100]`
(`--model PATH` for another detector; the default is models/detector/best.pt, skipped when it does not exist).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from hwdetect import paths

BENCH_DIR = paths.RUNS / "bench" / "multipage"
A4_100DPI = (827, 1169)
DPI = 100
SEED = 0


def fax_pages(count: int, seed: int = SEED) -> Iterator["Image.Image"]:  # noqa: F821 (PIL imported lazily)
    """`count` 1-bit A4 pages at 100 dpi, each with 20-30 lines of random pen strokes, one at a time."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    for _ in range(count):
        page = Image.new("1", A4_100DPI, 1)
        draw = ImageDraw.Draw(page)
        for line in range(rng.randint(20, 30)):
            y, x = 60 + line * 36, rng.randint(40, 120)
            points = [(x + 6 * k, y + rng.randint(-6, 6)) for k in range(rng.randint(40, 110))]
            draw.line(points, fill=0, width=2)
        yield page


def write_tiff(path: Path, count: int) -> None:
    """A multi-page TIFF written page by page (Pillow's appending writer), never all pages in memory."""
    from PIL import TiffImagePlugin

    with TiffImagePlugin.AppendingTiffWriter(str(path), True) as tiff:
        for page in fax_pages(count):
            page.save(tiff, format="TIFF", compression="group4", dpi=(DPI, DPI))
            tiff.newFrame()


def write_pdf(path: Path, count: int) -> None:
    """A PDF of `count` pages: 50 distinct pages repeated (Pillow's PDF writer holds every page it is given)."""
    distinct = list(fax_pages(min(count, 50), seed=SEED + 1))
    pages = [distinct[i % len(distinct)] for i in range(count)]
    pages[0].save(path, format="PDF", save_all=True, append_images=pages[1:], resolution=DPI)


def read_pages(path: Path) -> dict:
    """Read every page through predict's reader (child process side): times per page."""
    from hwdetect.predict import open_pages

    start, times = time.perf_counter(), []
    with open_pages(path, DPI) as pages:
        for index in range(len(pages)):
            began = time.perf_counter()
            pages.page(index)
            times.append(time.perf_counter() - began)
    tail = min(100, len(times))
    return {"pages": len(times), "seconds": time.perf_counter() - start,
            "first_ms": 1000 * sum(times[:tail]) / tail, "last_ms": 1000 * sum(times[-tail:]) / tail}


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM: of this program alone, unlike ru_maxrss, which after a fork and
    exec can keep the parent's figure)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):  # no /proc (macOS): ru_maxrss, in bytes there
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_child(module: str, *args: str) -> tuple[str, float, float]:
    """Run `python -m module args...` from the project root; (its stdout, wall seconds, peak memory in MiB)."""
    peak_file = BENCH_DIR / "child.peak"
    code = (f"import atexit, runpy, sys; from bench.multipage import peak_mib; "
            f"atexit.register(lambda: open({str(peak_file)!r}, 'w').write(str(peak_mib()))); "
            f"sys.argv = {[module, *args]!r}; runpy.run_module({module!r}, run_name='__main__', alter_sys=True)")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"error: python -m {module} {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout, seconds, float(peak_file.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiff-pages", type=int, default=1000, help="pages of the TIFF (default 1000)")
    parser.add_argument("--pdf-pages", type=int, default=500, help="pages of the PDF (default 500)")
    parser.add_argument("--limit", type=int, default=100, help="pages predict runs on with the model (default 100)")
    parser.add_argument("--model", type=Path, default=paths.MODEL, help="detector for the predict figures (default: "
                                                                         "models/detector/best.pt, if it exists)")
    parser.add_argument("--imgsz", type=int, help="predict's --imgsz (default: the model's own size)")
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)  # the child process: read one file's pages
    parser.add_argument("--imports", action="store_true", help=argparse.SUPPRESS)  # the child: imports alone
    a = parser.parse_args()
    if a.read:
        print(json.dumps(read_pages(a.read)))
    if a.imports:
        import numpy, pypdfium2, PIL.TiffImagePlugin, hwdetect.predict  # noqa: F401,E401 (what the reader imports)
    if a.read or a.imports:
        return
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    files = {"tiff": (BENCH_DIR / f"fax-{a.tiff_pages}.tif", a.tiff_pages, write_tiff),
             "pdf": (BENCH_DIR / f"scan-{a.pdf_pages}.pdf", a.pdf_pages, write_pdf)}
    for path, count, write in files.values():
        if not path.exists():
            print(f"writing {paths.shown(path)} ({count} pages) ...", flush=True)
            part = path.with_name(f".{path.name}.part")  # a run stopped midway leaves no file that looks whole
            write(part, count)
            part.replace(path)
    _, _, baseline = run_child("bench.multipage", "--imports")
    figures = {"imports_mib": round(baseline, 1)}
    print(f"a child that only imports the reader's modules: {baseline:.0f} MiB peak")
    for kind, (path, count, _) in files.items():
        out, _, peak = run_child("bench.multipage", "--read", str(path))
        got = json.loads(out)
        figures[f"{kind}_read"] = {"pages": got["pages"], "pages_per_second": round(got["pages"] / got["seconds"], 1),
                                   "peak_mib": round(peak, 1), "first_100_ms_per_page": round(got["first_ms"], 2),
                                   "last_100_ms_per_page": round(got["last_ms"], 2)}
        print(f"read {kind}: {got['pages']} pages in {got['seconds']:.1f} s, {got['pages'] / got['seconds']:.1f} "
              f"pages/s, peak {peak:.0f} MiB (+{peak - baseline:.0f} MiB over the imports); "
              f"{got['first_ms']:.1f} ms per page over the first 100, {got['last_ms']:.1f} ms over the last 100")
    if not a.model.exists():
        print(f"predict: skipped, {paths.shown(a.model)} does not exist (dvc repro, or --model PATH)")
    for kind, (path, count, write) in files.items() if a.model.exists() else ():
        runs = {}
        for pages in (1, min(a.limit, count)):  # one page: the cost of starting (imports, model) to take away
            limited = BENCH_DIR / f"first-{pages}{path.suffix}"
            write(limited, pages)
            runs[pages] = run_child("hwdetect.predict", "--model", str(a.model), "--source", str(limited), "--out",
                                    str(BENCH_DIR / f"predictions-{kind}-{pages}"), "--device", "cpu",
                                    *(["--imgsz", str(a.imgsz)] * bool(a.imgsz)))[1:]
        (start, _), (pages, (seconds, peak)) = runs[1], max(runs.items())
        rate = (pages - 1) / (seconds - start) if pages > 1 and seconds > start else float("nan")  # nan: too few
        figures[f"{kind}_predict"] = {"pages": pages, "seconds": round(seconds, 1), "start_seconds": round(start, 1),
                                      "pages_per_second": round(rate, 2), "peak_mib": round(peak, 1),
                                      "one_page_peak_mib": round(runs[1][1], 1)}
        print(f"predict {kind}: {pages} pages in {seconds:.1f} s, of which {start:.1f} s start-up (a 1-page run): "
              f"{rate:.2f} pages/s; peak {peak:.0f} MiB ({runs[1][1]:.0f} MiB for one page)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
