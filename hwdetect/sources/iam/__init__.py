"""The IAM Handwriting Database: the archives read safely (archives.py), downloaded after a login (download.py),
each form turned into an image and line boxes (forms.py), all forms converted into a source (convert.py), and
generated forms in the IAM layout for trying it all without an account (sample.py)."""
