"""Entry point: `parallax app` (installed or not) or `streamlit run ui/app.py`; the page setup
lives in ui/main.py."""

import sys
from pathlib import Path

# Streamlit puts only ui/ on sys.path; the `ui` package is imported from the folder holding it
# (the checkout, or site-packages when installed, where this is already on sys.path).
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from ui.main import main  # noqa: E402

main()
