"""RadGraph F1 (partial reward), through the optional `radgraph` package.

The paper scores impression prediction with the official package at reward_level
"partial". `radgraph` downloads its model files from the Hugging Face hub
(StanfordAIMI/RRG_scorers) on first use, and a BERT model besides; an evaluation must
never start a download behind the user's back, nor break when the package is absent.
So `radgraph_status` looks for the package and its files on disk first, and when
anything is missing the metric is reported as missing (never 0), with one line saying
what to do:

    pip install radgraph        (it needs torch and transformers)
    python -c "from radgraph import F1RadGraph; F1RadGraph(reward_level='partial', model_type='radgraph')"
                                (once, online: fetches the model files into radgraph's cache)

Our call guards against the package's known bugs (radgraph 0.1.18, `radgraph.py` and
`utils.py`), and its return value is checked, so a change in its shape is reported
rather than misread:

- `F1RadGraph.forward` wraps a string `hyps` in a list but never a string `refs` (its
  second test reads `isinstance(hyps, str)`): we always pass two lists of strings.
- `preprocess_reports` tests `model_type == "radgraph-xl" or "modern-radgraph-xl"`,
  which is always true, so "echograph" silently gets the chest models' preprocessing:
  only MODEL_TYPES are accepted.
- It returns `(mean_reward, reward_list, hypothesis_annotation_lists,
  reference_annotation_lists)`, with one float per pair for reward level "partial";
  anything else makes the metric missing, with a message.
- A pair with an empty hypothesis or reference scores 0.0 there; an empty reference
  is no reference, so its score is missing (NaN) here.
- Its bundled allennlp code calls `tokenizer.encode_plus`, which transformers 5
  removed: with transformers 5 (this project's pin) the model cannot load, and
  `radgraph_status` says so before trying (install radgraph with transformers<5 in an
  environment of its own to score RadGraph F1).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

DEFAULT_MODEL_TYPE = "radgraph"  # the original RadGraph model; "radgraph-xl" is the package default
MODEL_TYPES = ("radgraph", "radgraph-xl", "modern-radgraph-xl")
REWARD_LEVEL = "partial"
INSTALL_HINT = (
    "pip install radgraph, then fetch its model files once (online): python -c \"from radgraph import "
    "F1RadGraph; F1RadGraph(reward_level='partial', model_type='{model}')\""
)


@dataclass(frozen=True)
class RadGraphStatus:
    available: bool
    message: str
    model_dir: Path | None = None


def _cache_root() -> Path | None:
    """radgraph's own cache directory for the installed version (appdirs' user cache)."""
    try:
        version = importlib.metadata.version("radgraph")
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        from appdirs import user_cache_dir
    except ImportError:  # radgraph depends on appdirs; without it radgraph cannot load
        return None
    return Path(user_cache_dir("radgraph")) / version


def _hf_model_cached(model_name: str) -> bool:
    """Whether a Hugging Face model's config is in the local hub cache (or is a local dir)."""
    if not model_name or Path(model_name).is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(model_name, "config.json")
    return isinstance(found, str)


def transformers_has_encode_plus() -> bool:
    """Whether the installed transformers still offers `tokenizer.encode_plus` (removed in
    transformers 5), which radgraph's bundled allennlp calls while loading its model."""
    try:
        from transformers import PreTrainedTokenizerBase
    except ImportError:
        return False
    return callable(getattr(PreTrainedTokenizerBase, "encode_plus", None))


def radgraph_status(model_type: str = DEFAULT_MODEL_TYPE, cache_dir: str | os.PathLike | None = None) -> RadGraphStatus:
    """Whether RadGraph F1 can be computed offline, and if not, one line saying why."""
    hint = INSTALL_HINT.format(model=model_type)
    if model_type not in MODEL_TYPES:
        # radgraph's own model-type test is always true, so another model would be
        # preprocessed as radgraph-xl without a word.
        return RadGraphStatus(False, f"radgraph_f1 is missing: model type {model_type!r} is not one of "
                                     f"{', '.join(MODEL_TYPES)}")
    if importlib.util.find_spec("radgraph") is None:
        return RadGraphStatus(False, f"radgraph_f1 is missing: the radgraph package is not installed ({hint})")
    root = Path(cache_dir) if cache_dir else _cache_root()
    if root is None:
        return RadGraphStatus(False, f"radgraph_f1 is missing: cannot locate radgraph's model cache ({hint})")
    model_dir = root / model_type
    config = model_dir / "config.json"
    if not (config.is_file() and (model_dir / "weights.th").is_file()):
        return RadGraphStatus(False, f"radgraph_f1 is missing: radgraph's {model_type} model files are not on disk "
                                     f"at {model_dir} ({hint})")
    try:
        bert = json.loads(config.read_text())["model"]["embedder"]["token_embedders"]["bert"]["model_name"]
    except (OSError, ValueError, KeyError, TypeError):
        bert = ""
    if not _hf_model_cached(bert):
        return RadGraphStatus(False, f"radgraph_f1 is missing: the BERT model {bert} that radgraph needs is not "
                                     f"in the Hugging Face cache ({hint})")
    if not transformers_has_encode_plus():
        return RadGraphStatus(False, "radgraph_f1 is missing: radgraph's bundled allennlp calls "
                                     "tokenizer.encode_plus, which the installed transformers (5 or later) no longer "
                                     "has; score RadGraph F1 in an environment with transformers<5")
    return RadGraphStatus(True, f"radgraph_f1: {model_type} model at {model_dir}", model_dir)


def radgraph_f1_scores(
    predictions: Sequence[str],
    references: Sequence[str],
    model_type: str = DEFAULT_MODEL_TYPE,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[list[float] | None, str]:
    """Per-record RadGraph F1 (partial reward), or (None, why) when it cannot be computed.

    Never raises for a missing package, missing files or a model that fails to load:
    the caller reports the metric as missing.
    """
    if len(predictions) != len(references):
        raise ValueError("predictions and references differ in length")
    status = radgraph_status(model_type, cache_dir)
    if not status.available:
        return None, status.message
    if not predictions:
        return [], status.message
    # Two lists of strings, always: radgraph never wraps a string `refs` in a list.
    hyps = [str(p or "") for p in predictions]
    refs = [str(r or "") for r in references]
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"  # the files are on disk: make sure nothing is fetched
    try:
        from radgraph import F1RadGraph

        scorer = F1RadGraph(reward_level=REWARD_LEVEL, model_type=model_type,
                            model_cache_dir=str(status.model_dir.parent) if status.model_dir else None)
        result = scorer(refs=refs, hyps=hyps)
    except Exception as exc:  # an optional model must never break the run
        return None, f"radgraph_f1 is missing: radgraph failed ({type(exc).__name__}: {str(exc)[:200]})"
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous
    rewards = reward_list(result, len(hyps))
    if rewards is None:
        return None, (f"radgraph_f1 is missing: radgraph returned {type(result).__name__} of an unexpected shape "
                      f"(expected (mean, one reward per pair, hypothesis annotations, reference annotations))")
    scores = [float("nan") if not ref.strip() else _finite(x) for x, ref in zip(rewards, refs)]
    return scores, status.message


def reward_list(result: object, n: int) -> list[object] | None:
    """The per-pair rewards of F1RadGraph's return value, or None when it is not
    `(mean_reward, [one reward per pair], hypothesis_annotations, reference_annotations)`."""
    if not isinstance(result, tuple) or len(result) != 4:
        return None
    rewards = result[1]
    if not isinstance(rewards, list) or len(rewards) != n:
        return None
    if not all(isinstance(x, (int, float)) or x is None for x in rewards):
        return None  # reward level "all" gives tuples: never what we asked for
    return rewards


def _finite(x: object) -> float:
    value = float(x) if x is not None else float("nan")
    return value if not math.isnan(value) else float("nan")
