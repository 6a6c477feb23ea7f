"""`radphi run`: a task over a JSONL file of records, written out in the one record shape.

The output adds `task`, `prediction`, `parsed`, `model`, `model_info`, `prompt_tokens`,
`completion_tokens`, `seconds` (and `truncated_input` when a report was shortened).
Runs are resumable: ids already in the output are skipped. A bad line or a record
that fails is reported with its line number, and the run goes on. `run_records` is the
loop itself, over any numbered records and with the output record's shape given:
`radphi cleanup-targets` (radphi/training/cleanup_targets.py) writes training pairs through it.

Toward a server, `concurrency` requests are in flight at once (threads: each waits on
its HTTP request, so the GIL is no bottleneck). The default is the backend's
`batch_workers` (radphi/backends/openai_slots.py: 64 toward a loopback vLLM or SGLang,
llama.cpp's slot count, 4 toward a remote API); an in-process model decodes one request
at a time, so it gets 1. Results are still written in input order: a finished record
waits for the ones before it, while the others keep running. A slow or failing record
holds up nothing but the writing of those after it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

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
    concurrency: int = 1
    stopped: bool = False  # `stop` was set: the records not yet written were not run

    def __str__(self) -> str:
        at_once = f" ({self.concurrency} requests at a time)" if self.concurrency > 1 else ""
        return f"{self.written} written, {self.skipped_done} already done, {len(self.failed)} failed{at_once}"


def resolve_concurrency(backend: Backend, requested: int | None = None) -> int:
    """How many requests to keep in flight: REQUESTED (>= 1), else the backend's own
    `batch_workers`. Backends without one (in-process models, which hold a lock per
    generation) get 1: more threads would only queue on that lock."""
    if requested is not None and requested < 0:
        raise InputError(f"concurrency must be 1 or more (0: the model's default), not {requested}")
    # Looked up on the class, not read: reading an OpenAIBackend's asks its server.
    if not (hasattr(type(backend), "batch_workers") or "batch_workers" in getattr(backend, "__dict__", {})):
        if requested and requested > 1:
            log.info("%s decodes one request at a time in this process; concurrency %d is not used",
                     backend.spec, requested)
        return 1
    return max(1, int(requested or backend.batch_workers))


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
        # gpu or cpu: which form of a two-form model answers (radphi.backends.forms); for
        # other local backends, where it runs; None for a server's model.
        "form": info.get("form") or _form_of_device(info.get("device")),
    }


def answered_by(info: dict[str, Any], gen: Generation) -> dict[str, Any]:
    """INFO (`model_info`, taken before the answer) with the facts of the form that gave
    GEN: a two-form model may have switched to its GGUF after a GPU failure meanwhile."""
    return {**info, **gen.extra.get("model_info", {})}


def _form_of_device(device: Any) -> str | None:
    device = str(device or "")
    if device.startswith(("cuda", "gpu")):
        return "gpu"
    return "cpu" if device.startswith("cpu") else None


def output_record(record: dict[str, Any], task: str, gen: Generation, name: str, info: dict[str, Any],
                  *, verify: bool = False) -> dict[str, Any]:
    out = dict(record)
    out.update(
        task=task,
        prediction=gen.text,
        parsed=tasks.get_task(task).parse(gen.text),
        model=name,
        model_info=answered_by(info, gen),
        prompt_tokens=gen.prompt_tokens,
        completion_tokens=gen.completion_tokens,
        # "length": the answer was cut by max_new_tokens and is incomplete; "stop": it ended.
        finish_reason=gen.finish_reason,
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
    concurrency: int | None = None,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Run TASK over INPUT_PATH into OUTPUT_PATH; VERIFY adds the checker's `flags` to each
    record. CONCURRENCY requests (of BATCH_SIZE records each) are in flight at once; None
    takes the backend's default (`resolve_concurrency`). Once STOP is set, no more records
    are written (those finished stay; `summary.stopped` says so)."""
    bad_lines: list[rec_io.BadLine] = []
    return run_records(task, backend, rec_io.iter_numbered(input_path, bad_lines), output_path, name=name,
                       params=params, fmt=fmt, batch_size=batch_size, progress=progress, on_error=on_error,
                       verify=verify, concurrency=concurrency, stop=stop, source=str(input_path),
                       bad_lines=bad_lines)


# shape(input record, its generation) -> the record to write, or None: not written (failed).
Shape = Callable[[dict[str, Any], Generation], "dict[str, Any] | None"]


def run_records(
    task: str,
    backend: Backend,
    numbered: Iterable[tuple[int, dict[str, Any]]],
    output_path: str | Path,
    *,
    name: str,
    params: GenParams,
    fmt: str = tasks.DEFAULT_FORMAT,
    batch_size: int = 1,
    progress: bool = True,
    on_error: Callable[[str], None] | None = None,
    verify: bool = False,
    concurrency: int | None = None,
    stop: threading.Event | None = None,
    source: str = "input",
    bad_lines: Sequence[rec_io.BadLine] = (),
    shape: Shape | None = None,
) -> RunSummary:
    """The resumable loop of `run_file` over NUMBERED (line number, record) pairs, whose
    problems are reported as SOURCE:line. SHAPE makes the record written from an input
    record and its generation (default: `output_record`); when it gives None, nothing is
    written and the record counts as failed, so a rerun asks again. BAD_LINES (filled while
    NUMBERED is read) are reported as failures."""
    t = tasks.get_task(task)
    summary = RunSummary(concurrency=resolve_concurrency(backend, concurrency))

    def fail(message: str) -> None:
        summary.failed.append(message)
        log.warning("%s", message)
        if on_error:
            on_error(message)

    todo: list[tuple[int, dict[str, Any], Request]] = []
    done = rec_io.done_ids(output_path)
    seen: set[str] = set()
    for lineno, record in numbered:
        rid = rec_io.record_id(record, lineno)
        record = {"id": rid, **{k: v for k, v in record.items() if k != "id"}}
        if rid in done:
            summary.skipped_done += 1
            continue
        if rid in seen:
            fail(f"{source}:{lineno}: duplicate id {rid!r}; skipped")
            continue
        seen.add(rid)
        if record.get("task") not in (None, task):
            fail(f"{source}:{lineno}: record is for task {record['task']!r}, not {task!r}; skipped")
            continue
        try:
            todo.append((lineno, record, Request.build(t.name, record, fmt)))
        except InputError as exc:
            fail(f"{source}:{lineno}: {exc}")
    for bad in bad_lines:
        fail(str(bad))

    if shape is None:
        info = model_info(backend, fmt, params)

        def shape(record: dict[str, Any], gen: Generation) -> dict[str, Any] | None:
            return output_record(record, task, gen, name, info, verify=verify)

    size = max(1, batch_size)
    chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
    workers = summary.concurrency = min(summary.concurrency, max(1, len(chunks)))
    if workers > 1:
        log.info("%s: %d records, %d requests at a time", task, len(todo), workers)

    def work(chunk: list) -> list[tuple[dict[str, Any] | None, str | None]]:
        # In a worker thread: generation, parsing and the checker; the writing stays in order.
        results = _generate_chunk(backend, chunk, params, source)
        out: list[tuple[dict[str, Any] | None, str | None]] = []
        for (lineno, record, _), (gen, error) in zip(chunk, results):
            shaped = shape(record, gen) if gen else None
            if gen and shaped is None:
                error = f"{source}:{lineno}: no answer to write; a rerun asks again"
            out.append((shaped, error))
        return out

    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"{task} [{name}]", unit="rec")
    try:
        for n, (chunk, outcome) in enumerate(_in_input_order(work, chunks, workers), start=1):
            for _, error in outcome:
                if error:
                    fail(error)
            done_records = [out for out, _ in outcome if out is not None]
            rec_io.append_jsonl(output_path, done_records)
            summary.written += len(done_records)
            if bar:
                bar.update(len(chunk))
            if stop is not None and stop.is_set() and n < len(chunks):
                summary.stopped = True  # what is running is dropped, what has not started never starts
                break
    finally:
        if bar:
            bar.close()
    return summary


def _in_input_order(work: Callable[[Any], Any], chunks: Sequence[Any], workers: int) -> Iterator[tuple[Any, Any]]:
    """(chunk, work(chunk)) in input order, WORKERS chunks in flight at once.

    Every chunk is submitted at once, so a slow one delays only the yielding of those
    after it, never their work. A model or server failure (which `work` lets through)
    stops the run: what had not started is cancelled, what was running is waited for,
    and each chunk that finished is still yielded (in order, past the gap) before the
    error is raised, so no answer the server gave is lost. On Ctrl-C the same, without
    the wait. One worker runs inline, in the caller's thread."""
    if workers <= 1:
        for chunk in chunks:
            yield chunk, work(chunk)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="radphi-run")
    futures: list[Future | None] = [pool.submit(work, chunk) for chunk in chunks]
    index = 0
    try:
        for index, chunk in enumerate(chunks):
            future = futures[index]
            assert future is not None
            result = future.result()
            futures[index] = None  # the records are written: let them go
            yield chunk, result
    except (ModelLoadError, BackendUnavailable, KeyboardInterrupt) as exc:
        rest = [(chunks[j], f) for j, f in enumerate(futures) if j > index and f is not None]
        for _, f in rest:
            f.cancel()
        if not isinstance(exc, KeyboardInterrupt):
            wait([f for _, f in rest])
        finished = [(c, f.result()) for c, f in rest if f.done() and not f.cancelled() and f.exception() is None]
        for item in finished:
            yield item
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _generate_chunk(backend: Backend, chunk: list, params: GenParams,
                    source: str) -> list[tuple[Generation | None, str | None]]:
    """(generation, None) or (None, message) per record of a chunk; if the batch fails,
    each record is tried alone so one bad record does not take its neighbours down. A
    model that cannot load or a server that is down stops the run (it is resumable),
    instead of failing every record in turn."""
    if len(chunk) > 1:
        try:
            return [(gen, None) for gen in backend.generate_batch([req for _, _, req in chunk], params)]
        except (ModelLoadError, BackendUnavailable):
            raise
        except RadphiError:
            pass
    out: list[tuple[Generation | None, str | None]] = []
    for lineno, _, req in chunk:
        try:
            out.append((backend.generate(req, params), None))
        except (ModelLoadError, BackendUnavailable):
            raise
        except RadphiError as exc:
            out.append((None, f"{source}:{lineno}: {exc}"))
    return out
