"""The field libraries under the scrubber, run offline, as typed spans.

- presidio-analyzer (Microsoft): its pattern recognizers only (e-mail, URL, IP, phone through
  Google's phonenumbers, US SSN, dates, US NPI and Medicare IDs). Its name and place
  recognizer (SpacyRecognizer) needs a spaCy model such as en_core_web_lg, which is
  published on GitHub, not on the package index, and so cannot be installed here: it is
  left out, and presidio's AnalyzerEngine (which loads that model) is never built. The
  e-mail recognizer's domain check goes through tldextract, which by default fetches the
  Public Suffix List from the network; here it reads the snapshot tldextract ships.
- philter-lite (UCSF Philter): its regular-expression filters, in its own order and with its
  own rule that an earlier "safe" match shields text from a later PHI match. Its set and
  part-of-speech filters need NLTK's tagger data, which comes from a download rather than a
  package, and its name-context filters build on those: both are left out.

Both are imported on first use, so `import radphi.deid` stays cheap.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import sys
import threading
import tomllib
from typing import Callable

from radphi.deid.spans import Span
from radphi.errors import RadphiError

PRESIDIO_KINDS = {
    "EMAIL_ADDRESS": "EMAIL", "URL": "URL", "IP_ADDRESS": "IP", "PHONE_NUMBER": "PHONE", "US_SSN": "SSN",
    "DATE_TIME": "DATE", "US_NPI": "ID", "US_MBI": "ID",
}
PRESIDIO_MIN_SCORE = 0.3  # below this presidio itself expects context words to confirm a match


class LibraryMissing(RadphiError):
    """A de-identification library is not installed: nothing is sent rather than less scrubbed."""


def _need(package: str, error: ImportError) -> LibraryMissing:
    return LibraryMissing(f"the de-identification library {package} is not installed ({error.name}); "
                          f"install the project's requirements (pip install -r requirements.txt)")


_HIDDEN_WHILE_IMPORTING = ("torch", "transformers")
_load_lock = threading.Lock()


def _import_presidio_recognizers():
    """presidio_analyzer.predefined_recognizers, imported without torch and transformers.

    presidio-analyzer's package import pulls in transformers (for an NER engine we never
    build) and probes torch for a CUDA device, touching the GPU: about 6 s and a torch
    import on a path that needs neither. Hidden for that import (only when this process has
    not imported them already), presidio falls back to its CPU, transformers-free code.
    """
    hidden = [name for name in _HIDDEN_WHILE_IMPORTING if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import presidio_analyzer.predefined_recognizers as recognizers
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)  # its "Loaded recognizer" lines
    return recognizers


@functools.lru_cache(maxsize=1)
def presidio_recognizers() -> tuple:
    with _load_lock:
        try:
            import tldextract
            r = _import_presidio_recognizers()
        except ImportError as exc:
            raise _need("presidio-analyzer", exc) from exc
    EmailRecognizer = r.EmailRecognizer

    offline_tld = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return offline_tld(pattern_text.rsplit("@", 1)[-1]).fqdn != ""

    return (OfflineEmailRecognizer(), r.UrlRecognizer(), r.IpRecognizer(), r.PhoneRecognizer(supported_regions=("US",)),
            r.UsSsnRecognizer(), r.DateRecognizer(), r.UsNpiRecognizer(), r.UsMbiRecognizer())


def presidio_spans(text: str) -> list[Span]:
    """Presidio's pattern recognizers on TEXT (no NLP engine: nlp_artifacts=None)."""
    spans = []
    for recognizer in presidio_recognizers():
        for result in recognizer.analyze(text, recognizer.supported_entities, None):
            kind = PRESIDIO_KINDS.get(result.entity_type)
            if kind is not None and result.score >= PRESIDIO_MIN_SCORE:
                spans.append(Span(result.start, result.end, kind))
    return spans


def _philter_kind(keyword: str) -> str:
    group, _, name = keyword.partition(".")
    if group == "contact":
        return {"url": "URL", "email": "EMAIL"}.get(name, "PHONE")
    if group == "mrn_id":
        return "SSN" if name == "ssn" else "ID"
    return {"dates": "DATE", "age": "AGE", "salutations": "NAME"}.get(group, "ADDRESS")


@functools.lru_cache(maxsize=1)
def philter_filters() -> tuple:
    """(compiled filter, kind) for each regex filter of philter's default configuration, in its order."""
    try:
        import philter_lite
    except ImportError as exc:
        raise _need("philter-lite", exc) from exc
    config = importlib.resources.files("philter_lite").joinpath("configs/philter_delta.toml")
    with config.open("rb") as fh:
        entries = tomllib.load(fh)["filters"]
    return tuple((philter_lite.filter_from_dict(entry), _philter_kind(entry["keyword"]))
                 for entry in entries if entry["type"] == "regex")


def philter_spans(text: str) -> list[Span]:
    """Philter's regex filters on TEXT: a PHI match counts unless an earlier safe match covers it."""
    safe: list[tuple[int, int]] = []
    phi: list[Span] = []

    def overlaps(start: int, end: int, regions) -> bool:
        return any(start < r_end and r_start < end for r_start, r_end in regions)

    for flt, kind in philter_filters():
        for m in flt.data.finditer(text):
            start, end = m.span()
            if start == end:
                continue
            if flt.exclude:
                if not overlaps(start, end, safe):
                    phi.append(Span(start, end, kind))
            elif not overlaps(start, end, [(s.start, s.end) for s in phi]):
                safe.append((start, end))
    return phi


LIBRARIES: dict[str, Callable[[str], list[Span]]] = {"presidio": presidio_spans, "philter": philter_spans}
