"""Data loaders: one module per dataset, each reading the dataset's real layout and
yielding records in the one shape of DESIGN.md ("The record"):

    {"id", "task", <the task's input fields>..., "reference", "split", "meta": {"dataset", ...}}

    from training.loaders import load_source
    records = load_source({"loader": "mimic_cxr", "reports": "physionet/mimic-cxr-reports",
                           "split_csv": "physionet/mimic-cxr-2.0.0-split.csv.gz"})

Every report task takes MIMIC-CXR's own split of its (current) study (splits.py, THE
SPLIT RULE of DATA_FORMATS.md). Loader modules are imported only when a source needs
them.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

log = logging.getLogger(__name__)

# name -> module; each module has `load(**options) -> list[dict]`.
LOADERS: dict[str, str] = {
    "supernatural": "training.loaders.supernatural",
    "radiopaedia": "training.loaders.radiopaedia",
    "mimic_cxr": "training.loaders.mimic_cxr",
    "imagenome": "training.loaders.imagenome",
    "diff_vqa": "training.loaders.diff_vqa",
    "cleanup": "training.loaders.cleanup",
    "records": "training.loaders.records",
}


def load_source(source: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the loader a config `[[sources]]` entry names; the other keys are its options."""
    options = dict(source)
    name = options.pop("loader", None)
    if name not in LOADERS:
        raise ValueError(f"unknown loader {name!r} in a [[sources]] entry; choose one of: {', '.join(LOADERS)}")
    module = importlib.import_module(LOADERS[name])
    records = module.load(**options)
    log.info("%s: %d records", name, len(records))
    return records
