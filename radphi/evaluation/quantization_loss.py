"""Quantization loss: a model's checkpoint form against its GGUFs, on the same records,
scored by `radphi eval` with paired differences (GGUF − checkpoint) and bootstrap CIs.

    python -m radphi.evaluation.quantization_loss --gpu /models/rad-phi2 [--adapter DIR] \\
        --input data/test/impression_prediction.jsonl --input data/test/abnormality_labels.jsonl \\
        --quants q8_0 q4_k_m --out runs/qloss
    python -m radphi.evaluation.quantization_loss --models models.toml --model rad-phi2 --input ... --out ...

For each quant it exports the GGUF (`radphi export-gguf`, reused when OUT/NAME-QUANT.gguf
exists), runs every input file's task through the checkpoint (transformers: bf16 on a GPU,
fp32 on a CPU) and through each GGUF (llama.cpp), greedily, and scores them all together.
The table it prints is metrics.csv's paired rows: what each GGUF loses (negative) or gains
on each metric, with its CI; a CI that holds 0 is no measurable loss. The files are in OUT
(predictions, the GGUFs, OUT/eval/{metrics,records}.csv and report.html).

The input files are `radphi run` inputs with references (a test split); each file holds
one task, named by its records' `task` or by the file name (TASK.jsonl).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from radphi.errors import InputError, RadphiError

log = logging.getLogger(__name__)


def task_of(path: Path) -> str:
    """A test file's task: its first record's `task`, else its name (TASK.jsonl)."""
    from radphi import records, tasks

    rows = records.read_jsonl(path)
    if not rows:
        raise InputError(f"{path} has no records")
    task = rows[0].get("task") or path.stem
    if task not in tasks.TASKS:
        raise InputError(f"{path}: cannot tell its task ({task!r} is not one of the tasks); name the file TASK.jsonl")
    return task


def run(gpu: str, adapter: str | None, inputs: list[Path], quants: list[str], out: Path, *, name: str,
        max_new_tokens: int, limit: int | None, bootstrap: int, threads: int) -> Path:
    """Export, run and score; returns OUT/eval/metrics.csv."""
    from radphi.evaluation import run_eval
    from radphi import records, runner
    from radphi.backends import GenParams, load_backend, native_format
    from radphi.training.export_gguf import export_gguf

    out.mkdir(parents=True, exist_ok=True)
    forms: dict[str, object] = {"checkpoint": load_backend(gpu, adapter=adapter)}
    for quant in quants:
        gguf = out / f"{name}-{quant}.gguf"
        if not gguf.is_file():
            log.info("exporting %s", gguf)
            export_gguf(gpu, gguf, quant=quant, adapter=adapter)
        forms[quant] = load_backend(str(gguf), **({"n_threads": threads} if threads else {}))
    params = GenParams(max_new_tokens=max_new_tokens)
    predictions = []
    for path in inputs:
        task = task_of(path)
        source = path
        if limit:
            source = out / "inputs" / path.name
            source.parent.mkdir(parents=True, exist_ok=True)
            records.write_jsonl(source, records.read_jsonl(path)[:limit])
        for form, backend in forms.items():
            pred = out / "predictions" / f"{task}.{form}.jsonl"
            pred.parent.mkdir(parents=True, exist_ok=True)
            summary = runner.run_file(task, backend, source, pred, name=f"{name} {form}", params=params,
                                      fmt=native_format(backend), progress=False)
            log.info("%s %s: %s", task, form, summary)
            predictions.append(pred)
    parser = argparse.ArgumentParser()
    run_eval.add_arguments(parser)
    args = parser.parse_args([*map(str, predictions), "--out", str(out / "eval"), "--bootstrap", str(bootstrap),
                              "--no-progress"])
    status = run_eval.main(args)
    if status:
        raise RadphiError(f"radphi eval exited with {status}")
    return out / "eval" / "metrics.csv"


def loss_table(metrics_csv: Path, name: str) -> "object":
    """metrics.csv's paired rows of each GGUF against the checkpoint (overall stratum)."""
    import pandas as pd

    from radphi.evaluation.aggregate import PAIR_SEP

    m = pd.read_csv(metrics_csv)
    base = f"{name} checkpoint"
    pairs = m[m["model"].str.contains(PAIR_SEP, regex=False)].copy()
    parts = pairs["model"].str.split(PAIR_SEP, regex=False)
    pairs["a"], pairs["b"] = parts.str[0], parts.str[1]
    # Make every row "GGUF − checkpoint": flip the rows the aggregate wrote the other way.
    flip = pairs["a"] == base
    for col in ("value", "ci_low", "ci_high"):
        pairs.loc[flip, col] = -pairs.loc[flip, col]
    lo = pairs.loc[flip, "ci_low"].copy()
    pairs.loc[flip, "ci_low"] = pairs.loc[flip, "ci_high"]
    pairs.loc[flip, "ci_high"] = lo
    pairs["gguf"] = pairs["a"].where(~flip, pairs["b"]).str.removeprefix(f"{name} ")
    keep = (pairs["a"] == base) | (pairs["b"] == base)
    if "stratum" in pairs:
        keep &= pairs["stratum"].fillna("all").isin(["all", "overall", ""])
    if "stratum" in m:
        m = m[m["stratum"].fillna("all").isin(["all", "overall", ""])]
    own = m[m["model"] == base].set_index(["task", "metric"])["value"]
    out = pairs[keep].copy()
    out["checkpoint"] = [own.get((t, k)) for t, k in zip(out["task"], out["metric"])]
    out = out.rename(columns={"value": "gguf − checkpoint"})
    cols = ["task", "metric", "checkpoint", "gguf", "gguf − checkpoint", "ci_low", "ci_high", "n"]
    out = out.dropna(subset=["gguf − checkpoint"])
    for col in ("gguf − checkpoint", "ci_low", "ci_high"):
        out[col] = out[col] + 0.0  # no "-0.0000" in the printed table
    return out[cols].sort_values(["task", "metric", "gguf"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m radphi.evaluation.quantization_loss", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", help="the checkpoint: an HF model directory (save_pretrained)")
    parser.add_argument("--adapter", help="its peft adapter, merged for the GGUFs")
    parser.add_argument("--models", type=Path, help="a models file; with --model, its entry's gpu and adapter")
    parser.add_argument("--model", help="the entry's name in --models")
    parser.add_argument("--input", type=Path, action="append", required=True, help="a test file (repeatable)")
    parser.add_argument("--quants", nargs="+", default=["q8_0", "q4_k_m"], choices=["f16", "q8_0", "q4_0", "q4_k_m"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--name", help="the model's name in the tables (default: the entry's or directory's)")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--limit", type=int, help="the first N records of each file")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: one per physical core)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        gpu, adapter, name = args.gpu, args.adapter, args.name
        if args.models is not None:
            from radphi.models_file import load_models_file

            entry = load_models_file(args.models).get(args.model or "")
            if entry is None or entry.gpu is None:
                raise InputError(f"--models {args.models} has no entry {args.model!r} with a gpu form")
            gpu, adapter, name = entry.gpu, entry.adapter, name or entry.name
        if not gpu:
            raise InputError("give the checkpoint: --gpu DIR, or --models FILE --model NAME")
        for path in args.input:
            if not path.is_file():
                raise InputError(f"input file not found: {path}")
        name = name or Path(gpu).name
        metrics = run(gpu, adapter, args.input, args.quants, args.out, name=name,
                      max_new_tokens=args.max_new_tokens, limit=args.limit, bootstrap=args.bootstrap,
                      threads=args.threads)
    except (RadphiError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = loss_table(metrics, name)
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
