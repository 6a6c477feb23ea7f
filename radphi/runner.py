"""`radphi run`: a task over a JSONL file of records, written out in the one record shape.

The output adds `task`, `prediction`, `parsed`, `model`, `model_info`, `prompt_tokens`,
`completion_tokens`, `seconds` (and `truncated_input` when a report was shortened).
Runs are resumable: ids already in the output are skipped. A bad line or a record
that fails is reported with its line number, and the run goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from radphi import records as rec_io
from radphi import tasks
from radphi.backends import Backend, Generation, GenParams, Request
from radphi.errors import BackendUnavailable, InputError, ModelLoadError, RadphiError

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    written: int = 0
    skipped_done: int = 0
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.written} written, {self.skipped_done} already done, {len(self.failed)} failed"


def model_info(backend: Backend, fmt: str, params: GenParams) -> dict[str, Any]:
    info = backend.info()
    decoding = params.to_dict()
    # Only the local backends can ground (radphi.grounding); the others decode freely.
    decoding["grounded"] = bool(params.grounded and getattr(backend, "grounds", False))
    return {
        "spec": backend.spec,
        "backend": info.get("backend"),
        "format": fmt,
        "decoding": decoding,
        "model_hash": info.get("model_hash"),
        "quantization": info.get("quantization"),
    }


def output_record(record: dict[str, Any], task: str, gen: Generation, name: str, info: dict[str, Any],
                  *, verify: bool = False) -> dict[str, Any]:
    out = dict(record)
    out.update(
        task=task,
        prediction=gen.text,
        parsed=tasks.get_task(task).parse(gen.text),
        model=name,
        model_info=info,
        prompt_tokens=gen.prompt_tokens,
        completion_tokens=gen.completion_tokens,
        seconds=round(gen.seconds, 4),
    )
    if gen.truncated_input:
        out["truncated_input"] = True
    if gen.constraint_violated is not None:
        # A structured answer is checked against its shape, fail closed (backends.constraints).
        out["constraint_violated"] = gen.constraint_violated
        if gen.constraint_violated:
            out["constraint_error"] = gen.extra.get("constraint", "")
    if verify:
        from radphi.verify import verify_record

        out["flags"] = [flag.to_dict() for flag in verify_record(out)]
    return out


def run_file(
    task: str,
    backend: Backend,
    input_path: str | Path,
    output_path: str | Path,
    *,
    name: str,
    params: GenParams,
    fmt: str = tasks.DEFAULT_FORMAT,
    batch_size: int = 1,
    progress: bool = True,
    on_error: Callable[[str], None] | None = None,
    verify: bool = False,
) -> RunSummary:
    """Run TASK over INPUT_PATH into OUTPUT_PATH; VERIFY adds the checker's `flags` to each record."""
    t = tasks.get_task(task)
    summary = RunSummary()

    def fail(message: str) -> None:
        summary.failed.append(message)
        log.warning("%s", message)
        if on_error:
            on_error(message)

    bad_lines: list[rec_io.BadLine] = []
    todo: list[tuple[int, dict[str, Any], Request]] = []
    done = rec_io.done_ids(output_path)
    seen: set[str] = set()
    for lineno, record in rec_io.iter_numbered(input_path, bad_lines):
        rid = rec_io.record_id(record, lineno)
        record = {"id": rid, **{k: v for k, v in record.items() if k != "id"}}
        if rid in done:
            summary.skipped_done += 1
            continue
        if rid in seen:
            fail(f"{input_path}:{lineno}: duplicate id {rid!r}; skipped")
            continue
        seen.add(rid)
        if record.get("task") not in (None, task):
            fail(f"{input_path}:{lineno}: record is for task {record['task']!r}, not {task!r}; skipped")
            continue
        try:
            todo.append((lineno, record, Request.build(t.name, record, fmt)))
        except InputError as exc:
            fail(f"{input_path}:{lineno}: {exc}")
    for bad in bad_lines:
        fail(str(bad))

    info = model_info(backend, fmt, params)
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"{task} [{name}]", unit="rec")
    for start in range(0, len(todo), max(1, batch_size)):
        chunk = todo[start:start + max(1, batch_size)]
        results = _generate_chunk(backend, chunk, params, fail, str(input_path))
        rec_io.append_jsonl(
            output_path,
            (output_record(record, task, gen, name, info, verify=verify) for (_, record, _), gen in zip(chunk, results) if gen),
        )
        summary.written += sum(1 for g in results if g)
        if bar:
            bar.update(len(chunk))
    if bar:
        bar.close()
    return summary


def _generate_chunk(backend: Backend, chunk: list, params: GenParams, fail: Callable[[str], None],
                    source: str) -> list[Generation | None]:
    """Generations for a chunk; if the batch fails, each record is tried alone so one bad
    record does not take its neighbours down. A model that cannot load or a server that
    is down stops the run (it is resumable), instead of failing every record in turn."""
    if len(chunk) > 1:
        try:
            return list(backend.generate_batch([req for _, _, req in chunk], params))
        except (ModelLoadError, BackendUnavailable):
            raise
        except RadphiError:
            pass
    out: list[Generation | None] = []
    for lineno, _, req in chunk:
        try:
            out.append(backend.generate(req, params))
        except (ModelLoadError, BackendUnavailable):
            raise
        except RadphiError as exc:
            fail(f"{source}:{lineno}: {exc}")
            out.append(None)
    return out
