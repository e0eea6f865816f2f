"""Scoring a detector: Ultralytics validation and the worst images (evaluate.py), plain metric arithmetic
(metrics.py), the offline HTML report (report.py) and the ONNX export with its parity check (export.py)."""
