"""Names the params file may choose from for the synthetic generator, kept apart from the rendering code so that
validating params.yaml imports nothing heavy and other stages do not depend on the renderer."""

LAYOUTS = ("iam_form", "notebook", "letter", "form_fill", "margin_notes")
HANDS = ("hershey-cursive", "hershey-scriptc", "hershey-scripts", "hershey-futural", "hershey-timesi",
         "caveat", "kalam", "kalam-light", "indie-flower", "dancing-script")
PRINT_FONTS = ("dejavu-serif", "dejavu-serif-bold", "dejavu-sans", "dejavu-sans-bold", "dejavu-mono", "stix",
               "stix-bold", "pt-serif", "pt-serif-bold", "merriweather", "open-sans", "eb-garamond")
CUSTOM_FORMATS = ("yolo", "voc", "coco")  # annotation formats of the `custom` source
