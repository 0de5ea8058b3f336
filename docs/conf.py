"""Sphinx configuration of the Copr documentation (``make docs``; ``make test`` builds it)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

project = "Copr"
author = "Copr developers"
release = "0.1.0"
extensions = ["myst_parser", "copr_reference"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
html_theme = "alabaster"
# The architecture page's diagrams are wide.
html_theme_options = {"page_width": "1100px"}
