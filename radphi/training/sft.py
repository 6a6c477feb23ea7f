"""Supervised fine-tuning of one stage of the paper's recipe, on trl's SFTTrainer with
peft and accelerate.

    python -m radphi.training.sft --config radphi/training/configs/stage1_supernatural.toml
    accelerate launch -m radphi.training.sft --config radphi/training/configs/stage2b_cxr_tasks.toml
    accelerate launch --config_file radphi/training/configs/accelerate_fsdp.yaml -m radphi.training.sft --config FILE
    python -m radphi.training.sft --config FILE --set max_steps=100 --set finetune=full

Several CPU processes (a test of the distributed path, no GPU): `accelerate launch --cpu`
starts only one process in accelerate 1.15, so use its torchrun launcher instead:
`accelerate launch --multi_gpu --num_processes 2 -m radphi.training.sft --config FILE` (gloo).

A stage reads its sources (radphi/training/loaders), mixes them (radphi/training/data.py), trains
on prompt/completion pairs whose prompt tokens are masked from the loss, evaluates the
loss on the validation split, checkpoints (rerunning the same command resumes from
the last checkpoint), and ends with a standalone HF directory `OUTPUT_DIR/final`
(LoRA merged) and, optionally, a GGUF for CPU users. A stage whose `model` is a
previous stage's OUTPUT_DIR starts from that stage's `final/`.

Outputs: OUTPUT_DIR/data/{train,validation}.jsonl (the exact pairs, reused on resume),
checkpoint-N/, adapter/ (LoRA), final/, run_summary.json. Config keys: see TrainConfig
below or `python -m radphi.training.sft --help`.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radphi import tasks
from radphi.training import sft_model

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """One training stage. Every key can be set in the TOML file or with --set KEY=VALUE."""

    model: str = field(default="microsoft/phi-2", metadata={"help": "base model: HF directory, hub id, or a previous stage's output_dir (its final/ is used)"})
    output_dir: str = field(default="runs/sft", metadata={"help": "where data, checkpoints, adapter/ and final/ go"})
    sources: list[dict[str, Any]] = field(default_factory=list, metadata={"help": "[[sources]] tables: loader = supernatural|radiopaedia|mimic_cxr|imagenome|diff_vqa|cleanup|records, plus its options"})
    task_caps: dict[str, int] = field(default_factory=dict, metadata={"help": "train records per task at most ('*' for the rest)"})
    task_weights: dict[str, float] = field(default_factory=dict, metadata={"help": "repeat (>1) or thin (<1) a task after its cap"})
    eval_cap: int = field(default=500, metadata={"help": "validation records per task at most (eval loss)"})
    prompt_format: str = field(default=tasks.DEFAULT_FORMAT, metadata={"help": "token (<instruct>/<output>, the paper's) or default"})
    finetune: str = field(default="lora", metadata={"help": "lora or full"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    lora_target_modules: Any = field(default="all-linear", metadata={"help": "peft target_modules: all-linear or a list"})
    new_token_training: str = field(default="modules_to_save", metadata={"help": "with LoRA, how added tokens train: modules_to_save (embedding + head) or trainable_tokens (new rows only)"})
    max_length: int = field(default=2048, metadata={"help": "tokens per sequence; longer pairs are dropped (and counted)"})
    packing: bool = field(default=True, metadata={"help": "pack pairs into max_length sequences (no padding); off: length-grouped batches"})
    epochs: float = field(default=1.0, metadata={"help": "epochs (ignored when max_steps > 0)"})
    max_steps: int = field(default=-1, metadata={"help": "optimizer steps; -1: run the epochs"})
    batch_size: int = field(default=8, metadata={"help": "sequences per device per micro-batch"})
    grad_accum: int = field(default=1, metadata={"help": "gradient accumulation steps"})
    learning_rate: float = field(default=2e-4, metadata={"help": "peak learning rate (2e-4 suits LoRA; use ~2e-5 for full)"})
    lr_scheduler: str = field(default="cosine", metadata={"help": "transformers lr_scheduler_type"})
    warmup: float = field(default=0.03, metadata={"help": "warm-up: a fraction of the steps (<1) or a step count"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping"})
    logging_steps: int = field(default=10, metadata={"help": "log every N steps"})
    eval_steps: int = field(default=500, metadata={"help": "eval loss every N steps (when there is a validation split)"})
    save_steps: int = field(default=500, metadata={"help": "checkpoint every N steps"})
    save_total_limit: int = field(default=2, metadata={"help": "checkpoints kept"})
    gradient_checkpointing: bool | None = field(default=None, metadata={"help": "default: on with a GPU, off on CPU"})
    precision: str = field(default="auto", metadata={"help": "auto (bf16 on a GPU that has it, else fp16; fp32 on CPU), bf16, fp16 or fp32"})
    model_dtype: str = field(default="auto", metadata={"help": "weights dtype: auto (bf16 for LoRA on GPU, fp32 otherwise), float32, bfloat16"})
    dropout: float | None = field(default=None, metadata={
        "help": "full fine-tuning: the model's own dropout rates (residual, embedding, attention) for this run; "
                "default: as its config says"})
    attn_implementation: str | None = field(default=None, metadata={"help": "e.g. sdpa, flash_attention_2 (default: transformers' choice)"})
    seed: int = field(default=42, metadata={"help": "seed for mixing, sampling and initialisation"})
    resume: str = field(default="auto", metadata={"help": "auto (last checkpoint in output_dir, if any), never, or a checkpoint path"})
    merge: bool = field(default=True, metadata={"help": "write final/: the adapter merged into a standalone HF model"})
    gguf_quant: str | None = field(default=None, metadata={"help": "also write OUTPUT_DIR/final.QUANT.gguf (e.g. q4_k_m) with radphi.training.export_gguf"})
    report_to: str = field(default="none", metadata={"help": "transformers report_to (none, tensorboard, wandb, ...)"})
    dataloader_num_workers: int = field(default=0, metadata={"help": "dataloader workers"})
    dataset_num_proc: int | None = field(default=None, metadata={"help": "processes for tokenizing the dataset"})
    torch_compile: bool = field(default=False, metadata={"help": "torch.compile the model"})
    deadline: float = field(default=0.0, metadata={"help": "end training by this epoch time (0: off): the first steps are timed, and max_steps and the cosine schedule are cut to what fits (radphi.training.step_budget)"})

    def on_gpu(self) -> bool:
        import torch

        return torch.cuda.is_available()


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """A TrainConfig from a TOML file and KEY=VALUE overrides (VALUE read as TOML, else as text)."""
    values: dict[str, Any] = tomllib.loads(Path(path).read_text(encoding="utf-8")) if path else {}
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set needs KEY=VALUE, got {item!r}")
        values[key.strip()] = _parse_value(value.strip())
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown config key(s) {unknown}; known: {', '.join(sorted(known))}")
    config = TrainConfig(**values)
    if config.finetune not in ("lora", "full"):
        raise ValueError(f"finetune must be lora or full, not {config.finetune!r}")
    if config.prompt_format not in tasks.FORMATS:
        raise ValueError(f"prompt_format must be one of {list(tasks.FORMATS)}")
    sft_model.check_dropout(config.dropout)
    return config


def resolve_dtypes(config: TrainConfig, gpu: bool) -> tuple[str, dict[str, bool]]:
    """(model weights dtype, SFTConfig precision flags)."""
    import torch

    precision = config.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if gpu else "fp32"
    flags = {"bf16": precision == "bf16", "fp16": precision == "fp16"}
    dtype = config.model_dtype
    if dtype == "auto":
        dtype = "bfloat16" if gpu and config.finetune == "lora" and precision == "bf16" else "float32"
    return dtype, flags


def _fingerprint(config: TrainConfig, model_path: str, eos: str) -> str:
    keys = ("sources", "task_caps", "task_weights", "eval_cap", "prompt_format", "max_length", "seed")
    blob = json.dumps({k: getattr(config, k) for k in keys} | {"model": model_path, "eos": eos}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def prepare_data(config: TrainConfig, tokenizer: Any, model_path: str, state: Any) -> tuple[Any, Any, dict]:
    """(train dataset, validation dataset or None, summary): the pairs are built once, by
    the main process, into OUTPUT_DIR/data/*.jsonl, and every process then reads them as
    memory-mapped Arrow (so N processes do not hold N copies). A resumed run reuses the
    files while the data config is unchanged."""
    from datasets import load_dataset

    from radphi.records import write_jsonl
    from radphi.training.data import build_rows

    data_dir = Path(config.output_dir) / "data"
    manifest = data_dir / "manifest.json"
    fingerprint = _fingerprint(config, model_path, tokenizer.eos_token)

    def count(texts: list[str], chunk: int = 10_000) -> list[int]:
        return [len(ids) for i in range(0, len(texts), chunk) for ids in tokenizer(texts[i:i + chunk])["input_ids"]]

    datasets: dict[str, Any] = {}
    with state.main_process_first():
        if state.is_main_process:
            old = json.loads(manifest.read_text()) if manifest.is_file() else {}
            if old.get("fingerprint") != fingerprint:
                if old:
                    log.warning("data config changed since %s was written; rebuilding it", data_dir)
                rows, summary = build_rows(config.sources, caps=config.task_caps, weights=config.task_weights,
                                           eval_cap=config.eval_cap, fmt=config.prompt_format,
                                           eos_token=tokenizer.eos_token, max_tokens=config.max_length,
                                           count_tokens=count, seed=config.seed)
                data_dir.mkdir(parents=True, exist_ok=True)
                for split, split_rows in rows.items():
                    write_jsonl(data_dir / f"{split}.jsonl", split_rows)
                manifest.write_text(json.dumps({"fingerprint": fingerprint, "summary": summary}, indent=2))
        for split in ("train", "validation"):
            path = data_dir / f"{split}.jsonl"
            if path.stat().st_size:
                datasets[split] = load_dataset("json", data_files=str(path), split="train",
                                               cache_dir=str(data_dir / "cache")).select_columns(["prompt", "completion"])
    return datasets.get("train"), datasets.get("validation"), json.loads(manifest.read_text())["summary"]


def micro_batches(config: TrainConfig, *, gpu: bool) -> tuple[int, int]:
    """(per-device batch, gradient accumulation) to run with.

    On a CPU, trl's packing joins a batch's packed rows into one sequence, so attention
    costs grow with the square of batch × max_length: batch 16 of 768-token rows ran
    about 5x slower than batch 1 with 16 accumulation steps, the same tokens per step.
    So packed CPU runs use micro-batches of one row."""
    if gpu or not config.packing or config.batch_size <= 1:
        return config.batch_size, config.grad_accum
    log.warning("packing on CPU: micro-batches of 1 row with %d accumulation steps instead of batch %d x %d "
                "(same tokens per step, much faster attention)", config.batch_size * config.grad_accum,
                config.batch_size, config.grad_accum)
    return 1, config.batch_size * config.grad_accum


def sft_arguments(config: TrainConfig, *, gpu: bool, has_eval: bool, precision: dict[str, bool]) -> Any:
    from trl import SFTConfig

    checkpointing = gpu if config.gradient_checkpointing is None else config.gradient_checkpointing
    batch, accum = micro_batches(config, gpu=gpu)
    return SFTConfig(
        output_dir=config.output_dir, num_train_epochs=config.epochs, max_steps=config.max_steps,
        per_device_train_batch_size=batch, per_device_eval_batch_size=batch,
        gradient_accumulation_steps=accum, learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler, warmup_steps=config.warmup, weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm, logging_steps=config.logging_steps, logging_first_step=True,
        eval_strategy="steps" if has_eval else "no", eval_steps=config.eval_steps,
        save_strategy="steps", save_steps=config.save_steps, save_total_limit=config.save_total_limit,
        use_cpu=not gpu, **precision, activation_checkpointing=checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if checkpointing else None,
        max_length=config.max_length, packing=config.packing, packing_strategy="bfd",
        train_sampling_strategy="random" if config.packing else "group_by_length",
        completion_only_loss=True, report_to=config.report_to, seed=config.seed, data_seed=config.seed,
        dataloader_num_workers=config.dataloader_num_workers, dataset_num_proc=config.dataset_num_proc,
        torch_compile=config.torch_compile, ddp_find_unused_parameters=False, disable_tqdm=True,
    )


def resume_checkpoint(config: TrainConfig) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if config.resume == "never":
        return None
    if config.resume == "auto":
        out = Path(config.output_dir)
        return get_last_checkpoint(str(out)) if out.is_dir() else None
    if not Path(config.resume).is_dir():
        raise FileNotFoundError(f"resume checkpoint not found: {config.resume}")
    return config.resume


def build_trainer(config: TrainConfig, train_dataset: Any, eval_dataset: Any, tokenizer: Any,
                  tokens: sft_model.TokenSetup, model_path: str, callbacks: list | None = None,
                  model: Any = None) -> Any:
    """The SFTTrainer of a stage: model loaded and grown (unless MODEL is given, as the
    benchmark's random one), LoRA config, arguments."""
    from trl import SFTTrainer

    gpu = config.on_gpu()
    dtype, precision = resolve_dtypes(config, gpu)
    if model is None:
        model = sft_model.load_model(model_path, tokenizer, tokens, dtype=dtype,
                                     attn_implementation=config.attn_implementation, dropout=config.dropout)
    peft_config = None
    if config.finetune == "lora":
        peft_config = sft_model.lora_config(model, tokens, r=config.lora_r, alpha=config.lora_alpha,
                                            dropout=config.lora_dropout, target_modules=config.lora_target_modules,
                                            new_token_training=config.new_token_training)
    args = sft_arguments(config, gpu=gpu, has_eval=eval_dataset is not None, precision=precision)
    return SFTTrainer(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                      processing_class=tokenizer, peft_config=peft_config, callbacks=callbacks)


def main(config: TrainConfig) -> dict[str, Any]:
    """Run one stage end to end; returns (and writes) its run summary."""
    from accelerate import PartialState
    from transformers import set_seed

    state = PartialState()
    set_seed(config.seed)
    out = Path(config.output_dir)
    model_path = sft_model.resolve_model_path(config.model)
    tokenizer, tokens = sft_model.load_tokenizer(model_path)
    train_dataset, eval_dataset, data_summary = prepare_data(config, tokenizer, model_path, state)
    if train_dataset is None:
        raise ValueError("no training pairs: check the [[sources]] of the config and the log above")
    throughput = sft_model.make_throughput_callback()
    finite = sft_model.make_finite_loss_callback()
    trainer = build_trainer(config, train_dataset, eval_dataset, tokenizer, tokens, model_path,
                            callbacks=[throughput, finite])
    budget = None
    if config.deadline:
        from radphi.training.step_budget import make_step_budget_callback

        budget = make_step_budget_callback(config.deadline,
                                           warmup=trainer.args.get_warmup_steps(trainer.args.max_steps))
        trainer.add_callback(budget)
    resume = resume_checkpoint(config)
    resumed_step = json.loads((Path(resume) / "trainer_state.json").read_text())["global_step"] if resume else 0
    if resume:
        log.info("resuming from %s (step %d)", resume, resumed_step)
    result = trainer.train(resume_from_checkpoint=resume)
    if finite.diverged_at is not None:
        raise RuntimeError(f"training diverged at step {finite.diverged_at} (loss or gradient norm not finite); "
                           f"nothing was saved as final/: lower learning_rate, or resume from a checkpoint "
                           f"before that step in {out}")
    eval_metrics = trainer.evaluate() if eval_dataset is not None else {}
    trainer.save_model(str(out / ("adapter" if config.finetune == "lora" else "final")))
    state.wait_for_everyone()
    summary: dict[str, Any] = {
        "model": model_path, "added_tokens": tokens.added, "tokenizer_len": len(tokenizer),
        "embedding_rows": trainer.model.get_input_embeddings().weight.shape[0],
        "global_step": trainer.state.global_step, "resumed_from": resume, "resumed_step": resumed_step,
        "train_loss": result.training_loss, "eval_loss": eval_metrics.get("eval_loss"),
        "throughput": throughput.result(), "world_size": state.num_processes,
        "data": data_summary, "config": dataclasses.asdict(config),
    }
    if budget is not None:
        summary["step_budget"] = budget.result()
    if state.is_main_process:
        summary.update(_finish(config, model_path, out))
        (out / "run_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    state.wait_for_everyone()
    return summary


def _finish(config: TrainConfig, model_path: str, out: Path) -> dict[str, Any]:
    """Merge the adapter into final/, and export the GGUF; main process only."""
    done: dict[str, Any] = {}
    if config.finetune == "lora" and config.merge:
        dtype, _ = resolve_dtypes(config, config.on_gpu())
        sft_model.merge_adapter(model_path, out / "adapter", out / "final", dtype=dtype)
    if (out / "final" / "config.json").is_file():
        done["final_dir"] = str(out / "final")
    if config.gguf_quant and "final_dir" in done:
        from radphi.training.export_gguf import export_gguf

        done["gguf"] = str(export_gguf(out / "final", out / f"final.{config.gguf_quant}.gguf", quant=config.gguf_quant))
    return done


def _config_help() -> str:
    lines = ["config keys (TOML file or --set KEY=VALUE):"]
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        lines.append(f"  {f.name:22s} {f.metadata.get('help', '')} [default: {default!r}]")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The flags of `radphi train` and `python -m radphi.training.sft`."""
    parser.add_argument("--config", type=Path, help="stage config (TOML), e.g. radphi/training/configs/stage1_supernatural.toml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key; VALUE is read as TOML (max_steps=100, finetune=full)")
    parser.add_argument("--output-dir", help="override output_dir")
    parser.add_argument("--max-steps", type=int, help="override max_steps")
    parser.add_argument("--resume", help="auto (default), never, or a checkpoint directory")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.epilog = _config_help()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def main_from_args(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    for key, value in (("output_dir", args.output_dir), ("max_steps", args.max_steps), ("resume", args.resume)):
        if value is not None:
            overrides.append(f"{key}={json.dumps(value)}")
    config = load_config(args.config, overrides)
    if args.print_config:
        print(json.dumps(dataclasses.asdict(config), indent=2))
        return 0
    from accelerate import PartialState

    try:
        summary = main(config)
        if PartialState().is_main_process:
            print(json.dumps({k: summary.get(k) for k in ("global_step", "train_loss", "eval_loss", "final_dir",
                                                          "gguf")}, default=str), file=sys.stderr)
    finally:
        # Leave the process group cleanly: a rank that exits while gloo still holds its
        # peers' sockets can abort the launcher's whole job after the work is done.
        PartialState().destroy_process_group()
    return 0


def cli(argv: list[str] | None = None) -> int:
    from radphi.entry import run_module

    return run_module("python -m radphi.training.sft", __doc__, add_arguments, main_from_args, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
