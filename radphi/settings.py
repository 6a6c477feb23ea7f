"""Paths and defaults that come from the environment.

RADPHI_HOME   where radphi keeps its state (hash cache, reviews): default ~/.radphi,
              owner-only (0700)
RADPHI_MODEL  the default model SPEC when none is given ("none": no default model,
              even where the embedded demo model is present)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from radphi.files import private_dir

log = logging.getLogger(__name__)

# Package data: the demo model, its card and the examples install with radphi.
ASSETS = Path(__file__).resolve().parent / "assets"
# The embedded demo model (radphi/assets/MODEL_CARD.md; built by the lab, lab/demo/README.md).
DEMO_MODEL = ASSETS / "radphi-demo.gguf"


def radphi_home() -> Path:
    """RADPHI_HOME (default ~/.radphi), an owner-only (0700) directory.

    It holds report text (reviews, the judge's cache), so it is created 0700, and one
    that group or others can reach is set to 0700 with a warning (another user's is
    only warned about). A home that cannot be created (read-only) is returned as is:
    its users report the error when they write."""
    home = Path(os.environ.get("RADPHI_HOME") or Path.home() / ".radphi").expanduser()
    try:
        private_dir(home)
    except OSError as exc:
        log.debug("cannot make %s owner-only: %s", home, exc)
    return home


def default_model_spec() -> str | None:
    """RADPHI_MODEL, else the embedded demo model if it is there, else None."""
    env = os.environ.get("RADPHI_MODEL")
    if env and env.lower() == "none":
        return None
    if env:
        return env
    return str(DEMO_MODEL) if DEMO_MODEL.is_file() else None
