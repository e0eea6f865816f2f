"""Data sources and how they become one dataset.

A source is a folder data/sources/<name>/ with images/, labels/ (YOLO txt) and groups.csv (image,group): made by
the synthetic generator, converted from the IAM database (iam/) or from your own annotations (custom/). index.py
checks one and indexes it; split.py merges the selected sources into train/val/test; images.py reads any image.
"""
