"""A self-contained HTML report of an evaluation: everything inline (charts as SVG, images as data URIs), so it
renders from a file with no network: metrics table, PR curve, training curves, confusion matrix, worst images.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
th{background:#f3f3f3}figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}
figcaption{font-size:90%;color:#555}img{max-width:520px;border:1px solid #ddd}svg{background:#fff}
.legend span{margin-right:1em}"""
ERRORS_NOTE = ("The boxes predict gives: a score of at least keep_conf (0.25 unless chosen), a box inside a "
               "higher-scored box of the same line dropped. A line is found by a box with IoU >= 0.5. A print-only "
               "page has no labelled handwriting: every box on it is off the handwriting. Boxes on print are counted "
               "where the set labels print (a class named print): boxes found on no line with at least half their "
               "area on print. Offsets are in line heights, negative above or left of the labelled line.")
ERROR_ROWS = {
    "pages": "pages", "print_only_pages": "print-only pages (no labelled handwriting)",
    "lines": "labelled lines", "found": "lines found", "missed": "lines not found",
    "split_lines": "lines cut into two or more boxes (word groups)", "merged_lines": "lines under a box spanning lines",
    "boxes": "boxes predicted", "partial_boxes": "extra boxes on part of a line",
    "merged_boxes": "boxes covering two or more lines",
    "boxes_off_lines": "boxes off the labelled handwriting (print, background)",
    "boxes_off_lines_per_page": "boxes off the labelled handwriting per page",
    "boxes_on_print_only_pages_per_page": "boxes per print-only page",
    "boxes_on_print": "boxes on labelled print", "boxes_on_print_per_page": "boxes on labelled print per page",
    "median_height_ratio": "box height / line height", "median_width_ratio": "box width / line width",
    "median_top_offset": "top edge offset", "median_bottom_offset": "bottom edge offset",
    "median_left_offset": "left edge offset", "median_right_offset": "right edge offset",
}
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def svg_chart(series: dict[str, list[tuple[float, float]]], x_label: str, y_label: str,
              x_range: tuple[float, float] | None = None, y_range: tuple[float, float] | None = None) -> str:
    """A line chart as inline SVG: one polyline per named series of (x, y) points."""
    w, h, pad = 480, 300, 44
    points = [pt for s in series.values() for pt in s] or [(0.0, 0.0), (1.0, 1.0)]
    x0, x1 = x_range or (min(p[0] for p in points), max(p[0] for p in points))
    y0, y1 = y_range or (min(p[1] for p in points), max(p[1] for p in points))
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (w - 2 * pad)

    def sy(y: float) -> float:
        return h - pad - (y - y0) / (y1 - y0) * (h - 2 * pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img">',
             f'<rect x="{pad}" y="{pad}" width="{w - 2 * pad}" height="{h - 2 * pad}" fill="none" stroke="#999"/>']
    for i in range(5):
        fx, fy = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        parts.append(f'<text x="{sx(fx):.1f}" y="{h - pad + 16}" font-size="11" text-anchor="middle">{fx:.3g}</text>')
        parts.append(f'<text x="{pad - 6}" y="{sy(fy) + 4:.1f}" font-size="11" text-anchor="end">{fy:.3g}</text>')
    parts.append(f'<text x="{w / 2}" y="{h - 6}" font-size="12" text-anchor="middle">{html.escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{h / 2}" font-size="12" text-anchor="middle" '
                 f'transform="rotate(-90 12 {h / 2})">{html.escape(y_label)}</text>')
    legend = []
    for (name, pts), colour in zip(series.items(), COLOURS):
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        legend.append(f'<span style="color:{colour}">&#9632; {html.escape(name)}</span>')
    return "".join(parts) + "</svg>" + f'<div class="legend">{"".join(legend)}</div>'


def shown_value(value) -> str:
    """A figure as the tables show it: "n/a" where the set cannot measure it (mAP without handwriting labels)."""
    return "n/a" if value is None else html.escape(str(value))


def three_digits(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def headline(metrics: dict) -> str:
    """The evaluation in one line: mAP, F1 and the error breakdown (per page where it says how boxes go astray)."""
    e = metrics["errors"]
    mAP50, mAP50_95, f1 = (three_digits(metrics[k]) for k in ("mAP50", "mAP50-95", "f1"))
    text = (f"mAP50 {mAP50}, mAP50-95 {mAP50_95}, F1 {f1} on {metrics['images']} images; lines found "
            f"{e['found']}/{e['lines']}, split {e['split_lines']}, merged {e['merged_lines']}; boxes off the "
            f"labelled handwriting {e['boxes_off_lines']} ({e['boxes_off_lines_per_page']} per page)")
    if e["print_only_pages"]:
        text += (f", on the {e['print_only_pages']} print-only pages {e['boxes_on_print_only_pages']} "
                 f"({e['boxes_on_print_only_pages_per_page']} per page)")
    if e["boxes_on_print"] is not None:
        text += f", on labelled print {e['boxes_on_print']} ({e['boxes_on_print_per_page']} per page)"
    return text


def data_uri(path: Path) -> str:
    kind = "png" if path.suffix.lower() == ".png" else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(path.read_bytes()).decode()


def figure(content: str, caption: str) -> str:
    return f"<figure>{content}<figcaption>{html.escape(caption)}</figcaption></figure>"


def write_report(out: Path, title: str, metrics: dict, pr_curve: list[tuple[float, float]],
                 training: dict[str, list[tuple[float, float]]] | None, confusion: Path | None,
                 worst: list[tuple[Path, float]]) -> None:
    """Write the report to `out` (an .html file)."""
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{shown_value(v)}</td></tr>"
                   for k, v in metrics.items()
                   if not isinstance(v, dict))
    body = [f"<h1>{html.escape(title)}</h1>", "<h2>Metrics</h2>", f"<table>{rows}</table>"]
    if "errors" in metrics:
        errors = "".join(f"<tr><th>{html.escape(k)}</th><td>{shown_value(metrics['errors'].get(k))}</td>"
                         f"<td style='text-align:left'>{html.escape(text)}</td></tr>" for k, text in ERROR_ROWS.items())
        body += ["<h2>Errors by line</h2>", f"<p>{html.escape(ERRORS_NOTE)}</p>", f"<table>{errors}</table>"]
    body += ["<h2>Curves</h2>",
            figure(svg_chart({"precision": pr_curve}, "recall", "precision", (0, 1), (0, 1)),
                   "Precision against recall on the evaluated set")]
    if training:
        body.append(figure(svg_chart(training, "epoch", "value"), "Validation metrics by training epoch"))
    if confusion and confusion.exists():
        body.append(figure(f'<img alt="confusion matrix" src="{data_uri(confusion)}">', "Confusion matrix"))
    body.append("<h2>Worst images by F1</h2><p>Predictions in red (with scores), ground truth in green.</p>")
    body += [figure(f'<img alt="{html.escape(p.name)}" src="{data_uri(p)}">', f"{p.stem}: F1 {f1:.3f}")
             for p, f1 in worst]
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
    out.write_text(page)
