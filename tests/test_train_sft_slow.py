"""The training pipeline end to end (slow, still run in CI): a model trained through it
answers its fixture task and did not before, and two processes under `accelerate
launch` train and save one consistent checkpoint."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.tiny_base import build_plain_tiny_phi
from tests.fixtures.train_config import QA_SOURCE, SNI_SOURCE, write_config

pytest.importorskip("trl")

ROOT = Path(__file__).resolve().parent.parent
QA = [json.loads(line) for line in (Path(QA_SOURCE["path"])).read_text().splitlines() if line.startswith("{")]
TRAIN_QA = [q for q in QA if q["question"] and q["article_type"].lower() != "summary"]


def answers_of(model_dir: Path) -> list[tuple[str, str]]:
    """(answer text, finish reason) for each fixture question, through radphi's own backend."""
    from radphi.backends import GenParams, Request
    from radphi.backends.hf import HFBackend

    backend = HFBackend(str(model_dir))
    out = []
    for q in TRAIN_QA:
        gen = backend.generate(Request.build("radiology_qa", {"question": q["question"]}), GenParams(max_new_tokens=12))
        out.append((gen.text.strip(), gen.finish_reason))
    return out


@pytest.mark.slow
def test_trained_model_answers_its_fixture_task_and_did_not_before(tmp_path: Path):
    from radphi.training.sft import load_config, main

    base = build_plain_tiny_phi(tmp_path / "base")
    expected = [q["answer"] for q in TRAIN_QA]
    assert len(expected) == 6
    before = [text for text, _ in answers_of(base)]
    assert not any(b == e for b, e in zip(before, expected))
    cfg = write_config(tmp_path / "c.toml", model=str(base), output_dir=str(tmp_path / "o"), finetune="full",
                       max_steps=150, save_steps=150, batch_size=6, logging_steps=25, sources=[QA_SOURCE])
    main(load_config(cfg))
    after = answers_of(tmp_path / "o" / "final")
    assert [text for text, _ in after] == expected
    # It learned to stop: every answer ends on end-of-text, not on the token limit.
    assert all(reason == "stop" for _, reason in after)


@pytest.mark.slow
def test_two_processes_under_accelerate_train_one_consistent_checkpoint(tmp_path: Path):
    base = build_plain_tiny_phi(tmp_path / "base")
    out = tmp_path / "o"
    cfg = write_config(tmp_path / "c.toml", model=str(base), output_dir=str(out), finetune="lora", max_steps=6,
                       save_steps=6, eval_steps=3, sources=[dict(QA_SOURCE, validation_fraction=0.3), SNI_SOURCE])
    # `--cpu` makes accelerate 1.15 start a single process (its simple launcher); `--multi_gpu`
    # starts torchrun's two, which train on CPU (gloo) because no GPU is present.
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
           "-m", "radphi.training.sft", "--config", str(cfg)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 6
    checkpoints = sorted(p.name for p in out.glob("checkpoint-*"))
    assert checkpoints == ["checkpoint-6"]
    ckpt = out / "checkpoint-6"
    assert json.loads((ckpt / "trainer_state.json").read_text())["global_step"] == 6
    assert {p.name for p in ckpt.glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}
    assert len(list(ckpt.glob("adapter_model.safetensors"))) == 1
    # The data was built once, by the main process; the merged model loads and generates.
    assert len(list((out / "data").glob("*.jsonl"))) == 2
    from radphi.backends import GenParams, Request
    from radphi.backends.hf import HFBackend

    gen = HFBackend(str(out / "final")).generate(Request.build("radiology_qa", {"question": "Which side?"}),
                                                 GenParams(max_new_tokens=4))
    assert gen.completion_tokens >= 1
