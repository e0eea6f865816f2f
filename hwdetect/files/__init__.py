"""File handling shared by every part: atomic outputs, the walk over a user's folder, the YOLO label format."""
