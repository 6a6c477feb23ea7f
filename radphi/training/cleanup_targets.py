"""Write cleanup_report_text targets through a model SPEC, resumably.

    python -m radphi.training.cleanup_targets --model openai:my-model@http://127.0.0.1:8080/v1 \\
        --reports physionet/mimic-cxr-reports --split-csv physionet/mimic-cxr-2.0.0-split.csv.gz \\
        --out data/cleanup_pairs.jsonl
    python -m radphi.training.cleanup_targets --model openai-chat:gpt-4@https://host/v1 --allow-remote \\
        --input texts.jsonl --out data/cleanup_pairs.jsonl

The paper had GPT-4 rewrite each FINDINGS and IMPRESSION section without change
language, names or follow-up advice; those pairs train `cleanup_report_text` and, read
by the MIMIC-CXR loader (`clean_targets=`), the extraction targets. Inputs are the
sections of MIMIC-CXR reports (`--reports`, `--split-csv`) or a JSONL of `{"id",
"text", ...}` (`--input`). The answers go through `radphi run`'s resumable loop
(`radphi.runner.run_records`): each is appended to OUT in input order (flushed), several
requests in flight toward a server that takes them (`--concurrency`), and a rerun skips
the ids OUT already holds, so a stopped run resumes where it stopped. An empty answer is
not written: the next run asks again.

Any SPEC works (`radphi.backends.load_backend`); an OpenAI-compatible server is the
usual one. Report text goes to a server on this machine as it is. Toward any other
host it goes only with `--allow-remote` (or RADPHI_ALLOW_REMOTE=1), PHI-scrubbed by
the backend (`radphi.privacy`), and after a warning: MIMIC-CXR's data-use agreement
forbids sending its text to third parties such as a hosted API. Run a model on your
own machine (llama.cpp's or vLLM's server on 127.0.0.1) for MIMIC-CXR.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from radphi import privacy, tasks
from radphi.errors import RemoteNotAllowed

log = logging.getLogger(__name__)

TASK = "cleanup_report_text"
DUA_WARNING = (
    "sending report text to %s, which is not on this machine. MIMIC-CXR's data-use agreement "
    "forbids sending its text to third parties (such as a hosted API): use only your own "
    "server, or data you are allowed to share. Input fields are PHI-scrubbed first."
)


def mimic_sections(reports: str, split_csv: str | None = None, sections: Iterable[str] = ("findings", "impression"),
                   limit: int | None = None) -> Iterator[dict[str, Any]]:
    """{"id", "text", "split", "meta"} for each non-empty chosen section of each MIMIC-CXR report."""
    from radphi.reports import split_sections
    from radphi.training.loaders.mimic_cxr import report_store
    from radphi.training.loaders.splits import MimicSplits

    store = report_store(reports)
    splits = MimicSplits.load(split_csv) if split_csv else None
    for study in store.studies()[:limit]:
        found = split_sections(store.raw(study) or "")
        for section in sections:
            text = found.get(section, "").strip()
            if text:
                item = {"id": f"{study}-{section}", "text": text,
                        "meta": {"study_id": study, "section": section, "dataset": "mimic_cxr"}}
                split = splits.split_of(study) if splits else None
                if split:
                    item["split"] = split
                yield item


def jsonl_inputs(path: str) -> Iterator[dict[str, Any]]:
    from radphi.records import iter_numbered, record_id

    for lineno, row in iter_numbered(path):
        if str(row.get("text") or "").strip():  # its own task, if any, is not the one asked
            yield {**{k: v for k, v in row.items() if k != "task"}, "id": record_id(row, lineno)}


def check_destination(backend: Any, allow_remote: bool | None) -> bool:
    """True when BACKEND sends text off this machine (then only with the opt-in, after
    the data-use warning); RemoteNotAllowed, before anything is sent, without it."""
    url = getattr(backend, "base_url", None)
    if url is None or privacy.is_loopback_url(url):
        return False
    if not privacy.resolve_allow_remote(allow_remote):
        raise RemoteNotAllowed(privacy.not_allowed_message(url))
    log.warning(DUA_WARNING, url)
    return True


def write_cleanup_targets(items: Iterable[dict[str, Any]], out: str | Path, *, spec: str,
                          backend: Any = None, allow_remote: bool | None = None, fmt: str = tasks.DEFAULT_FORMAT,
                          max_new_tokens: int = 512, concurrency: int | None = None,
                          progress: bool = False) -> dict[str, int]:
    """Append a cleaned target for each item whose id OUT does not hold yet; returns counts."""
    from radphi.backends import GenParams, backend_kind, load_backend
    from radphi.runner import run_records

    if backend is None:
        options = {"allow_remote": allow_remote} if backend_kind(spec) == "openai_api" else {}
        backend = load_backend(spec, **options)
    check_destination(backend, allow_remote)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def pair(item: dict[str, Any], gen: Any) -> dict[str, Any] | None:
        answer = gen.text.strip()
        if not answer:
            return None
        return {"id": item["id"], "task": TASK, "text": item["text"], "reference": answer,
                **({"split": item["split"]} if item.get("split") else {}),
                "meta": {**(item.get("meta") or {}), "target_model": spec}}

    summary = run_records(TASK, backend, enumerate(items, start=1), out, name=spec,
                          params=GenParams(max_new_tokens=max_new_tokens), fmt=fmt, progress=progress,
                          concurrency=concurrency, source="item", shape=pair)
    counts = {"written": summary.written, "skipped_done": summary.skipped_done, "failed": len(summary.failed)}
    log.info("%s: %s", out, counts)
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The flags of `radphi cleanup-targets` and `python -m radphi.training.cleanup_targets`."""
    parser.add_argument("--model", required=True, help="model SPEC, e.g. openai:NAME@http://127.0.0.1:8080/v1")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--reports", help="MIMIC-CXR reports directory (holding files/p10/...)")
    source.add_argument("--input", help="JSONL of {\"id\", \"text\", ...} to clean")
    parser.add_argument("--split-csv", help="mimic-cxr-2.0.0-split.csv[.gz]: each pair keeps its study's split")
    parser.add_argument("--sections", default="findings,impression", help="report sections to clean (comma-separated)")
    parser.add_argument("--out", required=True, type=Path, help="output JSONL (appended to; reruns resume)")
    parser.add_argument("--limit", type=int, help="at most this many reports (a trial run)")
    parser.add_argument("--format", default=tasks.DEFAULT_FORMAT, choices=list(tasks.FORMATS))
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--concurrency", type=int, default=None,
                        help="requests in flight at once (default: what the server takes; see radphi run)")
    parser.add_argument("--allow-remote", action="store_true", default=None,
                        help="allow sending PHI-scrubbed text to a server not on this machine "
                             "(never with MIMIC-CXR: its data-use agreement forbids it)")
    return parser


def main_from_args(args: argparse.Namespace) -> int:
    if args.reports:
        items: Iterable[dict[str, Any]] = mimic_sections(args.reports, args.split_csv,
                                                         [s.strip() for s in args.sections.split(",") if s.strip()],
                                                         args.limit)
    else:
        items = jsonl_inputs(args.input)
    counts = write_cleanup_targets(items, args.out, spec=args.model, allow_remote=args.allow_remote,
                                   fmt=args.format, max_new_tokens=args.max_new_tokens,
                                   concurrency=args.concurrency, progress=True)
    print(f"{args.out}: {counts}", file=sys.stderr)
    return 1 if counts["failed"] and not (counts["written"] or counts["skipped_done"]) else 0


def cli(argv: list[str] | None = None) -> int:
    from radphi.entry import run_module

    return run_module("python -m radphi.training.cleanup_targets", __doc__, add_arguments, main_from_args, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
