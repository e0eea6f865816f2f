"""Every name params.yaml may choose from, defined once: data sources, splits, annotation formats, page layouts and
fonts. Plain data, so that checking params.yaml imports nothing heavy; the renderer takes its font files from here.
"""
from __future__ import annotations

SOURCES = ("synthetic", "iam", "custom")
SPLITS = ("train", "val", "test")
CPU_ISAS = {"AVX2": "AVX2", "native": "ALL"}  # train.cpu_isa → the ONEDNN_MAX_CPU_ISA value torch is started with
# sha256 of Ultralytics' pretrained weights (release assets), for the hint when a profile names one without its pin.
PRETRAINED = {"yolov8n.pt": "f59b3d833e2ff32e194b5bb8e08d211dc7c5bdf144b90d2c8412c47ccfc83b36"}
CUSTOM_FORMATS = ("yolo", "voc", "coco", "cvat", "label-studio")  # annotation formats of the `custom` source

# Page layouts of the synthetic generator: functions of the same name in hwdetect/synth/layouts.py (forms and
# notebooks) and documents.py (letters, cheques, receipts); print_only draws any of them without its handwriting.
LAYOUTS = ("iam_form", "notebook", "letter", "form_fill", "margin_notes", "typed_letter", "cheque", "receipt",
           "print_only")

# Handwriting faces: Hershey vector script fonts (drawn stroke by stroke) by their face name, and handwriting TTFs
# as (package, file). All TTFs are under the SIL Open Font License.
HERSHEY_HANDS = {"hershey-cursive": "cursive", "hershey-scriptc": "scriptc", "hershey-scripts": "scripts",
                 "hershey-futural": "futural", "hershey-timesi": "timesi"}
TTF_HANDS = {
    "caveat": ("fontpkg_caveat", "Caveat[wght].ttf"),
    "kalam": ("fontpkg_kalam", "Kalam-Regular.ttf"),
    "kalam-light": ("fontpkg_kalam", "Kalam-Light.ttf"),
    "indie-flower": ("fontpkg_indie_flower", "IndieFlower-Regular.ttf"),
    "dancing-script": ("fontpkg_dancing_script", "DancingScript[wght].ttf"),
    "great-vibes": ("fontpkg_great_vibes", "GreatVibes-Regular.ttf"),
    "yellowtail": ("fontpkg_yellowtail", "Yellowtail-Regular.ttf"),
    "zeyada": ("fontpkg_zeyada", "Zeyada.ttf"),
    "satisfy": ("fontpkg_satisfy", "Satisfy-Regular.ttf"),
}
HANDS = (*HERSHEY_HANDS, *TTF_HANDS)
# Signature faces: any hand, or "scribble" (a looped stroke with no letters in it).
SIGNATURE_FACES = (*HANDS, "scribble")

# Printed faces: (package, or None for matplotlib's bundled fonts, file).
PRINT_FONTS = {
    "dejavu-serif": (None, "DejaVuSerif.ttf"), "dejavu-serif-bold": (None, "DejaVuSerif-Bold.ttf"),
    "dejavu-sans": (None, "DejaVuSans.ttf"), "dejavu-sans-bold": (None, "DejaVuSans-Bold.ttf"),
    "dejavu-mono": (None, "DejaVuSansMono.ttf"), "stix": (None, "STIXGeneral.ttf"),
    "stix-bold": (None, "STIXGeneralBol.ttf"), "pt-serif": ("fontpkg_pt_serif", "PT_Serif-Web-Regular.ttf"),
    "pt-serif-bold": ("fontpkg_pt_serif", "PT_Serif-Web-Bold.ttf"),
    "merriweather": ("fontpkg_merriweather", "Merriweather[opsz,wdth,wght].ttf"),
    "open-sans": ("fontpkg_open_sans", "OpenSans[wdth,wght].ttf"),
    "eb-garamond": ("fontpkg_eb_garamond", "EBGaramond[wght].ttf"),
    "ibm-plex-mono": ("fontpkg_ibm_plex_mono", "IBMPlexMono-Regular.ttf"),
    "ibm-plex-mono-bold": ("fontpkg_ibm_plex_mono", "IBMPlexMono-Bold.ttf"),
    "inconsolata": ("fontpkg_inconsolata", "Inconsolata[wdth,wght].ttf"),
    "source-code-pro": ("fontpkg_source_code_pro", "SourceCodePro[wght].ttf"),
    "space-mono": ("fontpkg_space_mono", "SpaceMono-Regular.ttf"),
    "roboto-mono": ("fontpkg_roboto_mono", "RobotoMono[wght].ttf"),
    "roboto": ("fontpkg_roboto", "Roboto[wdth,wght].ttf"),
    "lato": ("fontpkg_lato", "Lato-Regular.ttf"),
    "lato-black": ("fontpkg_lato", "Lato-Black.ttf"),
    "oswald": ("fontpkg_oswald", "Oswald[wght].ttf"),
    "libre-baskerville": ("fontpkg_libre_baskerville", "LibreBaskerville[wght].ttf"),
    "playfair-display": ("fontpkg_playfair_display", "PlayfairDisplay[wght].ttf"),
    "arimo": ("fontpkg_arimo", "Arimo[wght].ttf"), "noto-sans": ("fontpkg_noto_sans", "NotoSans[wdth,wght].ttf"),
    "noto-serif": ("fontpkg_noto_serif", "NotoSerif[wdth,wght].ttf"),
    "source-sans": ("fontpkg_source_sans_3", "SourceSans3[wght].ttf"),
    "fira-sans": ("fontpkg_fira_sans", "FiraSans-Regular.ttf"),
    "fira-sans-bold": ("fontpkg_fira_sans", "FiraSans-Bold.ttf"),
    "ibm-plex-sans": ("fontpkg_ibm_plex_sans", "IBMPlexSans[wdth,wght].ttf"),
    "inter": ("fontpkg_inter", "Inter[opsz,wght].ttf"), "montserrat": ("fontpkg_montserrat", "Montserrat[wght].ttf"),
    "crimson-text": ("fontpkg_crimson_text", "CrimsonText-Regular.ttf"),
    "crimson-text-bold": ("fontpkg_crimson_text", "CrimsonText-Bold.ttf"), "lora": ("fontpkg_lora", "Lora[wght].ttf"),
}
# Monospaced printed faces: the ones typewritten and dot-matrix print is set in.
MONO_FONTS = ("dejavu-mono", "ibm-plex-mono", "ibm-plex-mono-bold", "inconsolata", "source-code-pro", "space-mono",
              "roboto-mono")
