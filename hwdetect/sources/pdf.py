"""Pages of a PDF as images: each page rendered with pypdfium2 at a stated resolution, for predict and
pre-annotation (scans often come as multi-page PDFs). Outputs name a page by its file and number: scan.pdf.page001."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from hwdetect.sources.images import UnreadableImage

PDF_DPI = 200  # pixels per inch a page is rendered at: an A4 page becomes 1654 x 2339 pixels


def page_name(rel: str, number: int) -> str:
    return f"{rel}.page{number:03d}"


def pdf_pages(path: Path, dpi: int = PDF_DPI) -> Iterator[tuple[int, np.ndarray]]:
    """(page number from 1, H x W x 3 uint8 RGB) of every page; UnreadableImage says why a file cannot be read."""
    try:
        import pypdfium2 as pdfium
    except ImportError:
        raise UnreadableImage("PDF: pypdfium2 is not installed (pip install -r requirements.txt)") from None
    try:  # the bytes, not the name: pdfium takes names as UTF-8, and a file's name may be any bytes
        pdf = pdfium.PdfDocument(path.read_bytes())
    except pdfium.PdfiumError as err:
        raise UnreadableImage(f"PDF: cannot read it ({err}); export or scan it again") from None
    try:
        for index in range(len(pdf)):
            yield index + 1, np.asarray(pdf[index].render(scale=dpi / 72).to_pil().convert("RGB"))
    finally:
        pdf.close()
