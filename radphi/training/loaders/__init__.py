"""Data loaders: one module per dataset, each reading the dataset's real layout and
yielding records in the one shape of DESIGN.md ("The record"):

    {"id", "task", <the task's input fields>..., "reference", "split", "meta": {"dataset", ...}}

    from radphi.training.loaders import load_source
    records = load_source({"loader": "mimic_cxr", "reports": "physionet/mimic-cxr-reports",
                           "split_csv": "physionet/mimic-cxr-2.0.0-split.csv.gz"})

Every report task takes MIMIC-CXR's own split of its (current) study (splits.py, THE
SPLIT RULE of DATA_FORMATS.md). Loader modules are imported only when a source needs
them.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections import Counter
from typing import Any

log = logging.getLogger(__name__)

# name -> module; each module has `load(**options) -> list[dict]`.
LOADERS: dict[str, str] = {
    "supernatural": "radphi.training.loaders.supernatural",
    "radiopaedia": "radphi.training.loaders.radiopaedia",
    "mimic_cxr": "radphi.training.loaders.mimic_cxr",
    "imagenome": "radphi.training.loaders.imagenome",
    "diff_vqa": "radphi.training.loaders.diff_vqa",
    "cleanup": "radphi.training.loaders.cleanup",
    "records": "radphi.training.loaders.records",
}


def load_source(source: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
    """Run the loader a config `[[sources]]` entry names; the other keys are its options.

    LIMIT (a quick look): passed to a loader that takes `limit` (it then reads at most
    LIMIT studies, scene graph files, CSV rows or tasks), and at most LIMIT records per
    task and split are kept.
    """
    options = dict(source)
    name = options.pop("loader", None)
    if name not in LOADERS:
        raise ValueError(f"unknown loader {name!r} in a [[sources]] entry; choose one of: {', '.join(LOADERS)}")
    module = importlib.import_module(LOADERS[name])
    params = inspect.signature(module.load).parameters
    if limit is not None and "limit" in params and "limit" not in options:
        options["limit"] = limit
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise ValueError(f"loader {name!r}: unknown option(s) {', '.join(unknown)}; it takes: "
                         f"{', '.join(p for p in params)}")
    missing = [p.name for p in params.values() if p.default is inspect.Parameter.empty and p.name not in options]
    if missing:
        raise ValueError(f"loader {name!r}: missing option(s) {', '.join(missing)} in its [[sources]] entry")
    records = module.load(**options)
    if limit is not None:
        seen: Counter = Counter()
        kept = []
        for rec in records:
            key = (rec.get("task"), rec.get("split"))
            if seen[key] < limit:
                seen[key] += 1
                kept.append(rec)
        records = kept
    log.info("%s: %d records", name, len(records))
    return records
