"""Pages of a PDF as images: each page rendered with pypdfium2 at a stated resolution, for predict and
pre-annotation (scans often come as multi-page PDFs). Outputs name a page by its file and number: scan.pdf.page001.

Pages are rendered one at a time, and a page whose pixels at that resolution would pass the images' limit
(images.MAX_PIXELS) is refused with the highest resolution that fits, rather than rendered: a 200 x 200 inch
poster page at 200 dpi would be 1.6 billion pixels.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import numpy as np

from hwdetect.sources.images import MAX_PIXELS, UnreadableImage

PDF_DPI = 200  # pixels per inch a page is rendered at: an A4 page becomes 1654 x 2339 pixels
PASSWORD_ERROR = 4  # PDFium's FPDF_ERR_PASSWORD
DECRYPT_FIX = ("it is password-protected; save a copy without the password (qpdf --password=PASSWORD --decrypt "
               "in.pdf out.pdf, or print it to PDF from a viewer that opens it) and use that")


def page_name(rel: str, number: int) -> str:
    return f"{rel}.page{number:03d}"


def largest_dpi(width_pt: float, height_pt: float) -> int:
    """The highest whole resolution at which a page of this size in points stays within MAX_PIXELS."""
    return math.floor(72 * math.sqrt(MAX_PIXELS / (width_pt * height_pt)))


class PdfPages:
    """The pages of a PDF, rendered at `dpi` as H x W x 3 uint8 RGB one at a time (the file is read as pages need it,
    not loaded whole); UnreadableImage says why the file, or one page, cannot be read."""

    def __init__(self, path: Path, dpi: int = PDF_DPI):
        try:
            import pypdfium2 as pdfium
        except ImportError:
            raise UnreadableImage("PDF: pypdfium2 is not installed (pip install -r requirements.txt)") from None
        self.dpi, self.orientation = dpi, 1
        file = path.open("rb")  # a file object, not the name: pdfium takes names as UTF-8, a name may be any bytes
        try:
            self.pdf = pdfium.PdfDocument(file, autoclose=True)
        except pdfium.PdfiumError as err:
            file.close()
            if getattr(err, "err_code", None) == PASSWORD_ERROR:
                raise UnreadableImage(f"PDF: {DECRYPT_FIX}") from None
            raise UnreadableImage(f"PDF: cannot read it ({err}); export or scan it again") from None
        self.count = len(self.pdf)
        if not self.count:
            self.close()
            raise UnreadableImage("PDF: it has no pages; export or scan it again")

    def __len__(self) -> int:
        return self.count

    def __enter__(self) -> "PdfPages":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.pdf.close()

    def page(self, index: int) -> np.ndarray:
        """Page `index` (from 0), rendered; UnreadableImage when it would pass the pixel limit or cannot be drawn."""
        import pypdfium2 as pdfium

        try:
            w_pt, h_pt = self.pdf.get_page_size(index)
            w, h = math.ceil(w_pt * self.dpi / 72), math.ceil(h_pt * self.dpi / 72)
            if w * h > MAX_PIXELS:
                raise UnreadableImage(
                    f"page {index + 1}: {w_pt / 72:.0f} x {h_pt / 72:.0f} inches is {w} x {h} pixels at "
                    f"{self.dpi} dpi, over the limit of {MAX_PIXELS:,}; pass --pdf-dpi {largest_dpi(w_pt, h_pt)} "
                    f"or lower for it")
            page = self.pdf[index]
            try:
                return np.asarray(page.render(scale=self.dpi / 72).to_pil().convert("RGB"))
            finally:
                page.close()
        except pdfium.PdfiumError as err:
            raise UnreadableImage(f"page {index + 1}: cannot render it ({err})") from None

    def __iter__(self) -> Iterator[np.ndarray]:
        with self:
            for index in range(self.count):
                yield self.page(index)


def pdf_pages(path: Path, dpi: int = PDF_DPI) -> Iterator[tuple[int, np.ndarray]]:
    """(page number from 1, H x W x 3 uint8 RGB) of every page, one at a time; UnreadableImage says why a file or
    page cannot be read."""
    for index, rgb in enumerate(PdfPages(path, dpi)):
        yield index + 1, rgb
