"""The `radphi` command: one entry point, one subcommand per job.

    radphi tasks                                   list the tasks and their input fields
    radphi prompt TASK --set FIELD=VALUE ...       print the exact rendered prompt
    radphi run TASK --model SPEC --input IN.jsonl --output OUT.jsonl [--concurrency N]
    radphi export-gguf SRC_DIR OUT.gguf [--quant f32|f16|q8_0|q4_0|q4_k_m] [--adapter DIR]
    radphi export-gguf --fallback-for NAME --models FILE [OUT.gguf]   a two-form entry's GGUF, filled in
    radphi import-gguf MODEL.gguf OUT_DIR            a phi2 GGUF back into an HF directory, to train from
    radphi verify PRED.jsonl [--output OUT.jsonl]     the checker's flags for each answer (no model calls)
    radphi eval PRED.jsonl [PRED2.jsonl ...] --out DIR   (radphi eval --help for its options)
    radphi train --config FILE [--set KEY=VALUE ...]    one SFT stage (radphi/training/configs/)
    radphi data build --config FILE --out DIR [--limit N]   write and count what a stage trains on
    radphi cleanup-targets --model SPEC --reports DIR --out pairs.jsonl
    radphi review import|export|stats|sets|close|role ...   human reviews (radphi review --help)
    radphi scrub [FILE|-] [--jsonl FIELD ...] [--report]   de-identify text (the remote path's scrubber)
    radphi serve [--model SPEC ...] [--models FILE] [--host 127.0.0.1] [--port 7860]   (= python app.py)

This module is the composition root: `training` and `evaluation` are imported only
inside the subcommands that need them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path
from typing import Callable

from radphi import settings, tasks
from radphi.errors import InputError, ModelLoadError, RadphiError

log = logging.getLogger("radphi")


def _add_gen_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", default=None, choices=list(tasks.FORMATS),
                   help="prompt format (default: the model's own: token for a model with <instruct>/<output>, "
                        "chat for one with a chat template, else default)")
    p.add_argument("--no-constrained", dest="constrained", action="store_false",
                   help="decode the structured tasks (labels, temporal findings, progression) freely instead of "
                        "under their answer shape (a grammar); answers are checked against it either way")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--temperature", type=float, default=0.0, help="0 (default) decodes greedily")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-grounding", action="store_true",
                   help="let extract_findings and cleanup_report_text write freely instead of copying the "
                        "input's sentences (grounded decoding, the default, on the transformers and llama.cpp "
                        "backends)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radphi", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("tasks", help="list the tasks and their input fields")

    p = sub.add_parser("prompt", help="print the exact prompt for a task and input")
    p.add_argument("task", choices=list(tasks.TASKS))
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="an input field (repeatable)")
    p.add_argument("--format", default=None, choices=list(tasks.FORMATS),
                   help="prompt format (default: the model's own with --model, else token)")
    p.add_argument("--model", help="model SPEC: print the text this model receives, its chat template applied")
    p.add_argument("--system", help="a system message above the instruction (chat format)")

    p = sub.add_parser("run", help="run a task over a JSONL file (resumable)")
    p.add_argument("task", choices=list(tasks.TASKS))
    p.add_argument("--model", help="model SPEC: a .gguf file, an HF directory or hub id, or openai:MODEL@URL; or "
                                   "an entry's name in --models FILE (default: $RADPHI_MODEL, else the embedded "
                                   "demo model)")
    p.add_argument("--models", type=Path, metavar="FILE", help="models file (TOML) whose entries --model may name")
    p.add_argument("--form", choices=["auto", "gpu", "cpu"], default=None,
                   help="for an entry with a GPU and a GGUF form: which one answers (default: the entry's own, "
                        "else auto: the GPU when it has room, else the GGUF); each record's model_info.form says")
    p.add_argument("--name", help="short model name stored in each record (default: the entry's name, or the "
                                  "model file's stem)")
    p.add_argument("--adapter", help="peft adapter directory (HF models)")
    p.add_argument("--input", required=True, type=Path)
    p.add_argument("--output", required=True, type=Path)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=0, metavar="N",
                   help="requests in flight at once toward an openai: server (0, the default: 64 toward a loopback "
                        "vLLM or SGLang, llama.cpp's --parallel slots, 4 toward a remote API, else 1); output stays "
                        "in input order")
    p.add_argument("--n-ctx", type=int, default=0, help="llama.cpp context size (0: the model's own)")
    p.add_argument("--threads", type=int, default=0,
                   help="llama.cpp threads (0: one per physical core; use fewer when other work shares the CPU)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow sending PHI-scrubbed report text to a non-loopback API server")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--verify", action="store_true",
                   help="add the checker's flags (radphi.verify: missed/false findings, position, severity) to "
                        "each record")
    _add_gen_args(p)

    p = sub.add_parser("verify", help="check answers against their sources: flags in the four error categories")
    p.add_argument("predictions", type=Path, help="radphi run output, or any JSONL with task, the task's input "
                                                  "fields and prediction")
    p.add_argument("--output", type=Path, help="write the records back with `flags` (owner-only); default: "
                                               "only print the counts")

    p = sub.add_parser("export-gguf", help="write a GGUF (optionally quantized) from an HF model directory")
    p.add_argument("src_dir", nargs="?", help="an HF model directory (save_pretrained), or a hub id such as "
                                              "microsoft/phi-2 (not with --fallback-for: the entry's gpu form)")
    p.add_argument("out", nargs="?", help="the .gguf to write (with --fallback-for, default: NAME-QUANT.gguf beside "
                                          "the models file)")
    p.add_argument("--context-length", type=int, help="context length stored in the file (default: the model's)")
    p.add_argument("--quant", default=None, choices=["f32", "f16", "q8_0", "q4_0", "q4_k_m"],
                   help="tensor type (default f16; q4_k_m with --fallback-for)")
    p.add_argument("--adapter", help="merge this peft adapter first")
    p.add_argument("--fallback-for", metavar="NAME",
                   help="export the GPU form (gpu + adapter) of entry NAME in --models FILE, and write the GGUF "
                        "into the entry as its `cpu` form, in one step")
    p.add_argument("--models", type=Path, metavar="FILE", help="the models file, with --fallback-for")

    p = sub.add_parser("import-gguf", help="turn a phi2 GGUF (f32, f16 or quantized) back into an HF model directory")
    p.add_argument("gguf", help="the .gguf file, such as radphi/assets/radphi-demo.gguf")
    p.add_argument("out", help="the directory to write (config.json, model.safetensors, tokenizer)")

    # radphi.evaluation.run_eval imports nothing heavy at module level (numpy, pandas, plotly and
    # the judge load inside main), so building its flags here stays cheap.
    from radphi.evaluation import run_eval

    p = sub.add_parser("eval", help="score prediction files: metrics with bootstrap CIs, CSV and HTML report")
    run_eval.add_arguments(p)

    # radphi.ui.server imports gradio only inside main.
    from radphi.ui import server as ui_server

    p = sub.add_parser("serve", help="start the workbench app (the same as python app.py)")
    ui_server.add_arguments(p)

    from radphi.review import cli as reviews_cli

    p = sub.add_parser("review", help="import, export and summarise human reviews")
    reviews_cli.add_arguments(p)

    from radphi.deid import cli as deid_cli

    p = sub.add_parser("scrub", help="de-identify text or JSONL fields to standard output (radphi.deid)")
    deid_cli.add_arguments(p)

    # The training modules import torch, transformers and trl only inside main.
    from radphi.training import cleanup_targets, sft

    p = sub.add_parser("train", help="run one supervised fine-tuning stage from a config file")
    sft.add_arguments(p)
    p = sub.add_parser("cleanup-targets", help="write clean-up targets for reports through a model SPEC (resumable)")
    cleanup_targets.add_arguments(p)
    from radphi.training import data_build

    p = sub.add_parser("data", help="inspect training data: `radphi data build` writes and counts what a stage "
                                    "trains on")
    data_build.add_arguments(p)

    return parser


def cmd_tasks(args: argparse.Namespace) -> int:
    for t in tasks.TASKS.values():
        extra = f" (optional: {', '.join(t.optional_fields)})" if t.optional_fields else ""
        print(f"{t.name:28s} {', '.join(t.fields)}{extra}")
    return 0


def cmd_prompt(args: argparse.Namespace) -> int:
    fields = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--set needs FIELD=VALUE, got {item!r}")
        fields[key.strip()] = value
    unknown = set(fields) - set(tasks.TASKS[args.task].fields) - set(tasks.TASKS[args.task].optional_fields)
    if unknown:
        raise InputError(f"{args.task} has no field(s) {', '.join(sorted(unknown))}; "
                         f"its fields are: {', '.join(tasks.TASKS[args.task].fields)}")
    if not args.model:
        if args.system:
            raise InputError("--system needs --model (a chat model renders it through its template)")
        sys.stdout.write(tasks.render_prompt(args.task, fields, args.format or tasks.DEFAULT_FORMAT) + "\n")
        return 0
    from radphi.backends import Request, load_backend, rendered_prompt, resolve_format

    backend = load_backend(args.model)
    fmt = resolve_format(backend, args.format)
    print(f"# prompt format: {fmt}", file=sys.stderr)
    sys.stdout.write(rendered_prompt(backend, Request.build(args.task, fields, fmt, system=args.system)) + "\n")
    return 0


def resolve_model(spec: str | None) -> str:
    spec = spec or settings.default_model_spec()
    if not spec:
        raise ModelLoadError(
            "no model given and no default model found. Pass --model path/to/model.gguf "
            "(make one with `radphi export-gguf HF_DIR OUT.gguf`, see README.md), an HF model "
            "directory, or openai:MODEL@URL; or set RADPHI_MODEL."
        )
    return spec


def models_entry(models: Path | None, name: str | None):
    """The entry NAME of the models file, or None when NAME is a SPEC (or no file is given)."""
    if models is None:
        return None
    from radphi.models_file import load_models_file

    entries = load_models_file(models)
    if name is None or name not in entries:
        if name is not None and not Path(name).expanduser().exists() and ":" not in name and "/" not in name:
            raise InputError(f"no model {name!r} in {models}; its entries: {', '.join(entries)}")
        return None
    return entries[name]


def cmd_run(args: argparse.Namespace) -> int:
    from radphi import runner
    from radphi.backends import GenParams, backend_kind, format_warning, load_backend, model_name, resolve_format
    from radphi.models_file import load_entry

    entry = models_entry(args.models, args.model)
    spec = entry.spec if entry is not None else resolve_model(args.model)
    if args.form and (entry is None or not entry.two_forms):
        raise InputError("--form applies to a models-file entry with a gpu and a cpu form (--models FILE --model NAME)")
    if args.concurrency < 0:
        raise InputError(f"--concurrency must be 1 or more (0: decided from the model), not {args.concurrency}")
    if not args.input.is_file():
        raise InputError(f"input file not found: {args.input}")
    if entry is not None:
        backend = load_entry(entry, form=args.form, n_ctx=args.n_ctx, n_threads=args.threads)
    else:
        options = {}
        kind = backend_kind(spec)
        if kind == "llamacpp" and args.n_ctx:
            options["n_ctx"] = args.n_ctx
        if kind == "llamacpp" and args.threads:
            options["n_threads"] = args.threads
        if kind == "openai_api" and args.allow_remote:
            options["allow_remote"] = True
        backend = load_backend(spec, adapter=args.adapter, **options)
    params = GenParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed,
                       grounded=not args.no_grounding, constrained=args.constrained)
    fmt = resolve_format(backend, args.format)
    warning = format_warning(backend, fmt)
    if warning:
        log.warning("%s", warning)
    name = args.name or (entry.name if entry is not None else model_name(spec))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    summary = runner.run_file(
        args.task, backend, args.input, args.output, name=name, params=params, fmt=fmt,
        batch_size=args.batch_size, progress=not args.no_progress, verify=args.verify,
        concurrency=args.concurrency or None,
    )
    print(f"{args.output}: {summary}", file=sys.stderr)
    for message in summary.failed:
        print(f"  {message}", file=sys.stderr)
    # Bad records are reported above; the run fails only when no record could be done.
    return 1 if summary.failed and not (summary.written or summary.skipped_done) else 0


def cmd_verify(args: argparse.Namespace) -> int:
    from radphi import records as rec_io
    from radphi.verify import CATEGORIES, verify_record

    if not args.predictions.is_file():
        raise InputError(f"predictions file not found: {args.predictions}")
    if args.output is not None and args.output.resolve() == args.predictions.resolve():
        raise InputError("--output must be another file than the predictions")
    bad: list = []
    out: list[dict] = []
    totals = {c.value: [0, 0] for c in CATEGORIES}
    problems: list[str] = []
    for lineno, record in rec_io.iter_numbered(args.predictions, bad):
        try:
            flags = verify_record(record)
        except InputError as exc:
            problems.append(f"{args.predictions}:{lineno}: {exc}")
            continue
        for flag in flags:
            totals[flag.category.value][0] += 1
            totals[flag.category.value][1] += flag.significant
        out.append({**record, "flags": [flag.to_dict() for flag in flags]})
    problems.extend(str(b) for b in bad)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        rec_io.write_jsonl(args.output, out)  # atomic and 0600: the records hold report text
    print(f"{len(out)} records checked" + (f", {len(problems)} skipped" if problems else ""))
    for category in CATEGORIES:
        n, significant = totals[category.value]
        print(f"  {category.value:15s} {n:6d} flags ({significant} significant)")
    for message in problems:
        print(f"  {message}", file=sys.stderr)
    return 1 if problems and not out else 0


def cmd_export_gguf(args: argparse.Namespace) -> int:
    from radphi.training.export_gguf import export_gguf

    if args.fallback_for is None:
        if not args.src_dir or not args.out:
            raise InputError("export-gguf needs SRC_DIR and OUT.gguf (or --fallback-for NAME --models FILE)")
        out = export_gguf(args.src_dir, args.out, quant=args.quant or "f16", adapter=args.adapter,
                          context_length=args.context_length)
        print(f"wrote {out} ({Path(out).stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
        return 0
    # One command from a fine-tune to its CPU fallback: export the entry's GPU form and
    # write the GGUF into the entry (radphi.backends.forms).
    from radphi.models_file import load_models_file, set_cpu_form

    if args.models is None:
        raise InputError("--fallback-for NAME needs --models FILE (the models file that has [models.NAME])")
    if args.src_dir or args.adapter:
        raise InputError("with --fallback-for the entry's gpu and adapter are exported; leave out SRC_DIR and --adapter")
    entries = load_models_file(args.models)
    entry = entries.get(args.fallback_for)
    if entry is None:
        raise InputError(f"no model {args.fallback_for!r} in {args.models}; its entries: {', '.join(entries)}")
    if entry.gpu is None:
        raise InputError(f"[models.{entry.name}] in {args.models} has no `gpu` form to export")
    quant = args.quant or "q4_k_m"
    out = Path(args.out) if args.out else args.models.resolve().parent / f"{entry.name}-{quant}.gguf"
    written = export_gguf(entry.gpu, out, quant=quant, adapter=entry.adapter, context_length=args.context_length)
    set_cpu_form(args.models, entry.name, written)
    print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB) and set it as the cpu form of "
          f"[models.{entry.name}] in {args.models}", file=sys.stderr)
    return 0


def cmd_import_gguf(args: argparse.Namespace) -> int:
    from radphi.training.import_gguf import import_gguf

    print(f"wrote {import_gguf(args.gguf, args.out)}", file=sys.stderr)
    return 0


# Subcommands that hand their parsed flags to another module's entry point, imported only
# when the subcommand runs (so `radphi --help` stays cheap): name -> "module:function".
DELEGATED = {"eval": "radphi.evaluation.run_eval:main", "serve": "radphi.ui.server:main",
             "review": "radphi.review.cli:main", "scrub": "radphi.deid.cli:main",
             "train": "radphi.training.sft:main_from_args",
             "data": "radphi.training.data_build:main_from_args",
             "cleanup-targets": "radphi.training.cleanup_targets:main_from_args"}


def _delegate(target: str) -> Callable[[argparse.Namespace], int]:
    module, func = target.split(":")
    return lambda args: getattr(importlib.import_module(module), func)(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "tasks": cmd_tasks, "prompt": cmd_prompt, "run": cmd_run, "verify": cmd_verify, "export-gguf": cmd_export_gguf,
    "import-gguf": cmd_import_gguf,
    **{name: _delegate(target) for name, target in DELEGATED.items()}}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from radphi.entry import configure_logging

    configure_logging(args.verbose)
    try:
        return COMMANDS[args.command](args)
    except RadphiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as exc:  # raised with user-facing messages by export/import
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; `radphi run` resumes where it stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
