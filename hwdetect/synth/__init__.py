"""Synthetic document pages: layouts of print (layouts.py), handwritten lines (handwriting.py), scanner artefacts
(scan.py), one page put together (pages.py) and a whole set written with its labels (generate.py)."""
