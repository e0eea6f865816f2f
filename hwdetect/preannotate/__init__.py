"""Pre-annotation for labelling your own pages: the model's boxes in the forms annotation tools import, least-sure
pages first (`python -m hwdetect.preannotate`)."""
