"""Loading for the transformers backend (hf.py): where the model comes from, its
config and tokenizer, the model on its device and dtype, an optional peft adapter
merged in, and a cheap hash of the weight files for run records.

`HFLoader` only reads files and builds objects; it holds no loaded state (HFBackend
keeps the tokenizer and model, and decides when to load them). Every load error is a
ModelLoadError naming the model or adapter. torch, transformers, peft and
safetensors are imported inside functions, so importing this module costs nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radphi.errors import ModelLoadError

log = logging.getLogger(__name__)

HUB_ID = re.compile(r"^[A-Za-z0-9_][\w.-]*(/[\w.-]+)?$")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


def offline() -> bool:
    """Whether the hub is off (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE set)."""
    flags = (os.environ.get(v, "").lower() for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return any(f in ("1", "true", "yes", "on") for f in flags)


def has_tokenizer(path: Path) -> bool:
    return any((path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model"))


def files_hash(dirs: list[tuple[str, Path]]) -> str | None:
    """A short sha256 over the weight files' names, sizes and mtimes (not their bytes).

    Cheap enough for every run record (Phi-2 is 5.6 GB); it changes when a file is
    replaced, and also when the directory is copied (new mtimes).
    """
    h = hashlib.sha256()
    found = False
    for label, d in dirs:
        for f in sorted(p for p in d.iterdir() if p.suffix in _WEIGHT_SUFFIXES and p.is_file()):
            st = f.stat()
            h.update(f"{label}/{f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            found = True
    return "meta-sha256:" + h.hexdigest()[:16] if found else None


@dataclass(frozen=True)
class HFLoader:
    """How to load one model SPEC (a directory or hub id) with an optional adapter.

    `device` and `dtype` are the user's options (None: choose); nothing is checked
    before a method is called.
    """

    spec: str
    adapter: str | None = None
    device: str | None = None
    dtype: str | None = None

    def source(self) -> tuple[str, bool]:
        """(what to pass to from_pretrained, local_files_only)."""
        path = Path(self.spec).expanduser()
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise ModelLoadError(f"could not load model {self.spec!r}: the directory has no config.json "
                                     f"(is it a saved transformers model?)")
            return str(path), True
        if path.exists():
            raise ModelLoadError(f"could not load model {self.spec!r}: it is a file, not a model directory "
                                 f"(a .gguf file loads with the llama.cpp backend)")
        if not HUB_ID.match(self.spec):
            raise ModelLoadError(f"could not load model {self.spec!r}: no such directory")
        return self.spec, offline()

    def load_error(self, exc: BaseException, what: str = "model") -> ModelLoadError:
        name = self.spec if what == "model" else self.adapter
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        if not Path(str(name)).expanduser().exists():
            where = "it is not a cached hub model (offline)" if offline() else f"the hub could not provide it: {first}"
            return ModelLoadError(f"could not load {what} {name!r}: no such directory, and {where}")
        return ModelLoadError(f"could not load {what} {name!r}: {type(exc).__name__}: {first}")

    def adapter_dir(self) -> Path | None:
        """The adapter's local directory; None for no adapter, or a hub id (peft fetches it)."""
        if not self.adapter:
            return None
        path = Path(self.adapter).expanduser()
        if path.is_dir():
            if not (path / "adapter_config.json").is_file():
                raise ModelLoadError(f"could not load adapter {self.adapter!r}: not a peft adapter directory "
                                     f"(no adapter_config.json)")
            return path
        if not HUB_ID.match(self.adapter) or offline():
            raise ModelLoadError(f"could not load adapter {self.adapter!r}: no such directory")
        return None  # a hub id: peft fetches it

    def load_tokenizer(self) -> tuple[Any, Any]:
        """(config, tokenizer), the adapter's tokenizer where it saved one; left padding,
        and eos as the pad token where there is none."""
        source, local_only = self.source()
        adapter_dir = self.adapter_dir()
        try:
            from transformers import AutoConfig, AutoTokenizer
        except ImportError as exc:
            raise ModelLoadError(f"the transformers backend needs {exc.name}; pip install -r requirements.txt") from exc
        try:
            config = AutoConfig.from_pretrained(source, local_files_only=local_only)
            if adapter_dir is not None and has_tokenizer(adapter_dir):
                tok = AutoTokenizer.from_pretrained(str(adapter_dir))  # the adapter's added tokens
            else:
                tok = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
        except Exception as exc:
            raise self.load_error(exc) from exc
        if tok.eos_token_id is None:
            raise ModelLoadError(f"could not load model {self.spec!r}: its tokenizer has no end-of-text token")
        tok.padding_side = "left"  # batches: every prompt ends where generation starts
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        return config, tok

    def load_model(self, tok: Any) -> tuple[Any, str, str]:
        """(model in eval mode on its device, the device, the dtype's short name)."""
        from transformers import AutoModelForCausalLM

        source, local_only = self.source()
        device, dtype, dtype_name = self.placement()
        if device == "cpu" and dtype_name == "fp32":
            # Not silent: a 2.7B model takes about 11 GB this way and decodes far slower than
            # its Q4_K_M GGUF (radphi.backends.forms pairs the two in one models-file entry).
            log.warning("%s runs on the CPU in fp32 (about 4 bytes a parameter, slow); for CPU use, export a GGUF "
                        "(radphi export-gguf) or give the model a cpu form in the models file", self.spec)
        try:
            model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, local_files_only=local_only)
        except Exception as exc:
            raise self.load_error(exc) from exc
        if self.adapter:
            model = self.apply_adapter(model, tok)
        try:
            model.to(device)
        except Exception as exc:
            raise ModelLoadError(f"could not put model {self.spec!r} on {device}: {exc}") from exc
        model.eval()
        return model, device, dtype_name

    def placement(self) -> tuple[str, Any, str]:
        """(device, torch dtype, the dtype's short name) that loading uses."""
        import torch

        device = self.device or ("cuda:0" if torch.cuda.is_available() else "cpu")
        device = "cuda:0" if device == "cuda" else device
        name = (self.dtype or "auto").lower()
        if name == "auto":
            # bf16 on CUDA, never fp16: Phi-2's activations overflow fp16's range (inf, then NaN logits).
            name = "bf16" if device.startswith("cuda") and torch.cuda.is_bf16_supported() else "fp32"
        name = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(name, name)
        dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
        if name not in dtypes:
            raise ModelLoadError(f"unknown dtype {self.dtype!r}; use bf16, fp16 or fp32")
        return device, dtypes[name], name

    def apply_adapter(self, model: Any, tok: Any) -> Any:
        """The model with the adapter merged in, its embedding grown to the adapter's vocabulary."""
        try:
            from peft import PeftModel
        except ImportError as exc:
            raise ModelLoadError("--adapter needs the peft package; pip install -r requirements.txt") from exc
        rows = max(len(tok), self.adapter_vocab_rows())
        # Only ever grow: Phi-2's embedding has 51,200 rows for 50,295 tokens, and the
        # spare rows already hold the adapter's added tokens.
        if rows > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(rows)
        try:
            model = PeftModel.from_pretrained(model, self.adapter, is_trainable=False)
            # Merged: plain-model speed, and the static-cache compile sees no peft wrappers.
            return model.merge_and_unload()
        except Exception as exc:
            raise self.load_error(exc, "adapter") from exc

    def adapter_vocab_rows(self) -> int:
        """Rows of a full embedding or head the adapter saved (modules_to_save), else 0."""
        path = self.adapter_dir()
        weights = path / "adapter_model.safetensors" if path else None
        if weights is None or not weights.is_file():
            return 0
        try:
            from safetensors import safe_open

            with safe_open(str(weights), framework="pt") as f:
                shapes = [f.get_slice(k).get_shape() for k in f.keys()
                          if "lora_" not in k and re.search(r"embed|wte|lm_head", k)]
        except Exception:  # a corrupt file is reported by peft with a better message
            return 0
        return max((s[0] for s in shapes if len(s) == 2), default=0)

    def model_hash(self) -> str | None:
        """files_hash over the model directory (and the adapter's, if local); None for a hub id."""
        path = Path(self.spec).expanduser()
        dirs = [("model", path)] + ([("adapter", Path(self.adapter).expanduser())]
                                    if self.adapter and Path(self.adapter).expanduser().is_dir() else [])
        return files_hash(dirs) if path.is_dir() else None
