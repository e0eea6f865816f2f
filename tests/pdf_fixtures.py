"""PDF files for the predict tests: one behind a password, and a poster-sized page beyond the pixel limit."""
from __future__ import annotations

from pathlib import Path

from PIL import Image


def encrypted_pdf() -> bytes:
    """A one-page PDF behind a user password (the Standard security handler; no password opens it)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
            b"<< /Filter /Standard /V 1 /R 2 /O <" + b"ab" * 32 + b"> /U <" + b"cd" * 32 + b"> /P -4 >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    ident = b"<" + b"01" * 16 + b">"
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [%s %s] >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, ident, ident, xref))
    return bytes(out)


def poster_pdf(path: Path, small_page: bool = True) -> None:
    """A page of 200 x 200 inches (1.6 billion pixels at 200 dpi), then a 2 x 2 inch one unless small_page is False."""
    import pypdfium2 as pdfium

    more = [Image.new("RGB", (200, 200), "white")] if small_page else []
    Image.new("RGB", (200, 200), "white").save(path, save_all=True, resolution=1.0, append_images=more)
    if small_page:  # Pillow gives every page the one resolution: the second page is made small here
        pdf = pdfium.PdfDocument(path.read_bytes())
        pdf[1].set_mediabox(0, 0, 144, 144)
        pdf.save(str(path))
        pdf.close()
