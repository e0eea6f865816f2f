"""Your own annotated pages: the annotation formats read (formats.py) and the conversion into a source (convert.py)."""
