"""Paths and defaults that come from the environment.

RADPHI_HOME   where radphi keeps its state (hash cache, reviews): default ~/.radphi
RADPHI_MODEL  the default model SPEC when none is given ("none": no default model,
              even where the embedded demo model is present)
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
ASSETS = PACKAGE_ROOT / "assets"
# The embedded demo model (built by `python -m training.demo`; see assets/MODEL_CARD.md).
DEMO_MODEL = ASSETS / "radphi-demo.gguf"


def radphi_home() -> Path:
    home = Path(os.environ.get("RADPHI_HOME") or Path.home() / ".radphi").expanduser()
    return home


def default_model_spec() -> str | None:
    """RADPHI_MODEL, else the embedded demo model if it is there, else None."""
    env = os.environ.get("RADPHI_MODEL")
    if env and env.lower() == "none":
        return None
    if env:
        return env
    return str(DEMO_MODEL) if DEMO_MODEL.is_file() else None
