"""What radphi.training.sft needs around the model: the tokenizer with the prompt format's
special tokens (added once), the model with its embedding grown only when the
tokenizer outgrows it, the peft LoRA config (embeddings and head trained when tokens
were added), the final merge into a standalone HF directory, and a throughput
callback. torch, transformers and peft are imported inside the functions.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radphi.tasks import SPECIAL_TOKENS

log = logging.getLogger(__name__)

# Grown embeddings are padded to a multiple of this (tensor-core friendly; Phi-2's own
# 51,200 rows are a multiple of 64 too).
EMBEDDING_MULTIPLE = 64


@dataclass
class TokenSetup:
    """What `load_tokenizer` did: the ids of tokens it added (empty: none were missing)."""

    added: list[str] = field(default_factory=list)
    added_ids: list[int] = field(default_factory=list)
    base_len: int = 0


def resolve_model_path(model: str) -> str:
    """A previous stage's run directory stands for its merged `final/` model."""
    path = Path(model).expanduser()
    if (path / "final" / "config.json").is_file() and not (path / "config.json").is_file():
        return str(path / "final")
    return model


def load_tokenizer(model_path: str) -> tuple[Any, TokenSetup]:
    """The model's tokenizer with <instruct> and <output> as special tokens (each added
    only if missing) and a pad token (the eos token when it has none)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)
    base_len = len(tok)
    vocab = tok.get_vocab()
    missing = [t for t in SPECIAL_TOKENS if t not in vocab]
    if missing:
        tok.add_special_tokens({"extra_special_tokens": missing}, replace_extra_special_tokens=False)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    ids = tok.convert_tokens_to_ids(missing) if missing else []
    log.info("tokenizer %s: %d tokens; added %s", model_path, len(tok), missing or "nothing")
    return tok, TokenSetup(missing, list(ids), base_len)


def torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


# The config fields that set a model's dropout rates (Phi: the first three; Llama/Mistral:
# attention_dropout), set together by `load_model(dropout=...)`.
DROPOUT_FIELDS = ("resid_pdrop", "embd_pdrop", "attention_dropout", "hidden_dropout", "attn_pdrop")


def check_dropout(rate: float | None, name: str = "dropout") -> None:
    """ValueError unless RATE is None or in [0, 1) (NAME: what the user called it)."""
    if rate is not None and not 0.0 <= rate < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {rate}")


def load_model(model_path: str, tokenizer: Any, tokens: TokenSetup, *, dtype: str = "float32",
               attn_implementation: str | None = None, dropout: float | None = None) -> Any:
    """The model, its embedding grown (never shrunk) to fit the tokenizer, the rows of
    newly added tokens set to the mean embedding. DROPOUT, when given, replaces every
    dropout rate its config has (DROPOUT_FIELDS): the layers are built with it."""
    from transformers import AutoConfig, AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": torch_dtype(dtype)}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    check_dropout(dropout)
    if dropout is not None:
        config = AutoConfig.from_pretrained(model_path)
        kwargs |= {name: dropout for name in DROPOUT_FIELDS if hasattr(config, name)}
    model = AutoModelForCausalLM.from_pretrained(model_path, **kwargs)
    fit_embeddings(model, tokenizer, tokens)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def fit_embeddings(model: Any, tokenizer: Any, tokens: TokenSetup) -> None:
    """Grow the embedding only when the tokenizer has more tokens than it has rows.

    Phi-2 has 51,200 rows for 50,295 tokens: its two new tokens take spare rows, and
    shrinking to the tokenizer would break its checkpoint shape for nothing.
    """
    import torch

    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        model.resize_token_embeddings(len(tokenizer), pad_to_multiple_of=EMBEDDING_MULTIPLE, mean_resizing=False)
        log.info("embedding grown from %d to %d rows", rows, model.get_input_embeddings().weight.shape[0])
    if not tokens.added_ids:
        return
    # Spare rows of a checkpoint were never trained; start the new tokens at the mean.
    with torch.no_grad():
        for emb in {id(m): m for m in (model.get_input_embeddings(), model.get_output_embeddings()) if m is not None}.values():
            weight = emb.weight
            weight[tokens.added_ids] = weight[: tokens.base_len].mean(dim=0, keepdim=True).to(weight.dtype)


def embedding_module_names(model: Any) -> list[str]:
    """The module names of the input embedding and the LM head ("embed_tokens", "lm_head")."""
    targets = {id(m) for m in (model.get_input_embeddings(), model.get_output_embeddings()) if m is not None}
    return sorted({name.split(".")[-1] for name, m in model.named_modules() if id(m) in targets})


def lora_config(model: Any, tokens: TokenSetup, *, r: int, alpha: int, dropout: float,
                target_modules: Any, new_token_training: str) -> Any:
    """A peft LoraConfig; when tokens were added, their embeddings train too:
    `modules_to_save` copies the whole embedding and head, `trainable_tokens` trains
    only the new rows of the input embedding (and of a head tied to it)."""
    from peft import LoraConfig

    kwargs: dict[str, Any] = {}
    if tokens.added_ids:
        names = embedding_module_names(model)
        if new_token_training == "modules_to_save":
            kwargs["modules_to_save"] = names
        elif new_token_training == "trainable_tokens":
            emb_name = next(n for n, m in model.named_modules() if m is model.get_input_embeddings()).split(".")[-1]
            kwargs["trainable_token_indices"] = {emb_name: list(tokens.added_ids)}
        else:
            raise ValueError(f"new_token_training must be modules_to_save or trainable_tokens, not {new_token_training!r}")
        log.info("new tokens %s train through %s (%s)", tokens.added, new_token_training, kwargs)
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules,
                      task_type="CAUSAL_LM", bias="none", **kwargs)


def merge_adapter(model_path: str, adapter_dir: Path, final_dir: Path, *, dtype: str,
                  attn_implementation: str | None = None) -> Path:
    """Base + adapter merged, saved as a standalone HF directory with the tokenizer.

    The base is loaded afresh (the trained copy may be sharded under FSDP) and grown
    exactly as for training, so the adapter's embedding copies fit it.
    """
    from peft import PeftModel
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
    base_tok, tokens = load_tokenizer(model_path)
    model = load_model(model_path, base_tok, tokens, dtype=dtype, attn_implementation=attn_implementation)
    if len(base_tok) != len(tokenizer):
        raise ValueError(f"tokenizer of {adapter_dir} ({len(tokenizer)}) does not match {model_path} + special "
                         f"tokens ({len(base_tok)})")
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    final_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(final_dir, safe_serialization=True)
    tokenizer.save_pretrained(final_dir)
    log.info("merged %s into %s", adapter_dir, final_dir)
    return final_dir


def trainer_callback_base() -> type:
    from transformers import TrainerCallback

    return TrainerCallback


def make_throughput_callback(warmup_steps: int = 2) -> Any:
    """A callback that measures steady-state tokens/s from trl's `num_tokens` log, from
    step WARMUP_STEPS to the last logged step (set logging_steps=1 for a fine measurement)."""

    class Throughput(trainer_callback_base()):  # type: ignore[misc]
        def __init__(self) -> None:
            self.marks: list[tuple[int, float, float]] = []  # (step, time, tokens seen)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any) -> None:
            if logs and "num_tokens" in logs:
                self.marks.append((state.global_step, time.perf_counter(), float(logs["num_tokens"])))

        def result(self) -> dict[str, float]:
            marks = [m for m in self.marks if m[0] >= warmup_steps]
            if len(marks) < 2:
                return {}
            (s0, t0, n0), (s1, t1, n1) = marks[0], marks[-1]
            return {"steps": s1 - s0, "seconds": t1 - t0, "tokens": n1 - n0,
                    "tokens_per_second": (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0,
                    "seconds_per_step": (t1 - t0) / max(s1 - s0, 1)}

    return Throughput()


def make_finite_loss_callback() -> Any:
    """A callback that stops training at the first logged loss or gradient norm that is not
    finite. transformers' Trainer trains on after a divergence (and its default
    logging_nan_inf_filter logs such a loss as a finite number); the weights are NaN from
    then on, so the stage must fail instead of saving them. `diverged_at` is the step."""

    class FiniteLoss(trainer_callback_base()):  # type: ignore[misc]
        def __init__(self) -> None:
            self.diverged_at: int | None = None

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any) -> None:
            values = [float(v) for k, v in (logs or {}).items() if k in ("loss", "grad_norm") and v is not None]
            if any(not math.isfinite(v) for v in values):
                self.diverged_at = state.global_step if self.diverged_at is None else self.diverged_at
                control.should_training_stop = True

    return FiniteLoss()
