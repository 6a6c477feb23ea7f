"""The `radphi` command: prompt, tasks, run (on a tiny GGUF), export-gguf, and its errors."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

import pytest

from radphi import records
from radphi.cli import main


def test_prompt_prints_the_exact_prompt(capsys):
    assert main(["prompt", "qa_comprehension", "--set", "report=No effusion.", "--set", "question=Any effusion?"]) == 0
    assert capsys.readouterr().out == (
        "<instruct>Answer the question using the radiology report below as context: No effusion. "
        "Question: Any effusion?\n<output>\n")
    assert main(["prompt", "radiology_qa", "--set", "question=Q", "--format", "default"]) == 0
    assert capsys.readouterr().out == "Instruct: Q\nOutput:\n"


def test_prompt_errors_are_clear(capsys):
    assert main(["prompt", "qa_comprehension", "--set", "report=R"]) == 2
    assert "empty or missing input field(s): question" in capsys.readouterr().err
    assert main(["prompt", "radiology_qa", "--set", "report=R"]) == 2
    assert "radiology_qa has no field(s) report" in capsys.readouterr().err


def test_tasks_lists_the_ten_and_the_general_instruction(capsys):
    main(["tasks"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 11 and lines[-1].split() == ["instruction", "instruction"]


def test_run_without_model_says_how_to_pass_one(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RADPHI_MODEL", raising=False)
    monkeypatch.setattr("radphi.settings.DEMO_MODEL", tmp_path / "absent.gguf")
    inp = tmp_path / "in.jsonl"
    records.write_jsonl(inp, [{"id": "1", "findings": "x"}])
    assert main(["run", "impression_prediction", "--input", str(inp), "--output", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "no model given" in err and "--model" in err and "export-gguf" in err


def test_run_with_a_missing_model_path(tmp_path, capsys):
    inp = tmp_path / "in.jsonl"
    records.write_jsonl(inp, [{"id": "1", "findings": "x"}])
    assert main(["run", "impression_prediction", "--model", str(tmp_path / "missing.gguf"), "--input", str(inp),
                 "--output", str(tmp_path / "o.jsonl")]) == 2
    assert "model file not found" in capsys.readouterr().err


def test_run_on_a_gguf_end_to_end(tmp_path, tiny_phi_gguf, capsys):
    inp = tmp_path / "in.jsonl"
    inp.write_bytes(
        json.dumps({"id": "a", "findings": "Small left pleural effusion.", "reference": "Effusion."}).encode() + b"\n"
        + b'{"id": "b", "findings": "\xff broken"}\n'
        + json.dumps({"id": "c", "findings": "No pneumothorax.", "meta": {"system": "chest"}}).encode() + b"\n")
    out = tmp_path / "out.jsonl"
    args = ["run", "impression_prediction", "--model", str(tiny_phi_gguf), "--name", "tiny", "--input", str(inp),
            "--output", str(out), "--max-new-tokens", "8", "--no-progress"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "in.jsonl:2: not UTF-8" in err and "2 written" in err
    got = records.read_jsonl(out)
    assert [r["id"] for r in got] == ["a", "c"]
    assert all(r["model"] == "tiny" and r["completion_tokens"] <= 8 and r["prompt_tokens"] > 10 for r in got)
    assert got[0]["model_info"]["spec"] == str(tiny_phi_gguf)
    assert got[0]["model_info"]["model_hash"].startswith("sha256:")
    assert got[1]["meta"] == {"system": "chest"}
    # Resuming does no new work.
    assert main(args) == 0
    assert "0 written, 2 already done" in capsys.readouterr().err
    assert len(records.read_jsonl(out)) == 2


def test_console_script_is_installed():
    exe = shutil.which("radphi") or str(__import__("pathlib").Path(sys.executable).parent / "radphi")
    out = subprocess.run([exe, "prompt", "radiology_qa", "--set", "question=Q"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout == "<instruct>Q\n<output>\n"


def test_export_gguf_then_run(tmp_path, tiny_phi_dir, capsys):
    out = tmp_path / "tiny-f16.gguf"
    assert main(["export-gguf", str(tiny_phi_dir), str(out), "--quant", "f16"]) == 0
    assert "wrote" in capsys.readouterr().err and out.stat().st_size > 10_000
    inp = tmp_path / "in.jsonl"
    records.write_jsonl(inp, [{"id": "1", "question": "What is atelectasis?"}])
    assert main(["run", "radiology_qa", "--model", str(out), "--input", str(inp), "--output",
                 str(tmp_path / "o.jsonl"), "--max-new-tokens", "4", "--no-progress"]) == 0
    assert records.read_jsonl(tmp_path / "o.jsonl")[0]["model"] == "tiny-f16"


def test_export_gguf_errors_are_one_line(tmp_path, capsys):
    assert main(["export-gguf", str(tmp_path / "no-such-dir"), str(tmp_path / "o.gguf")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no-such-dir" in err and len(err.splitlines()) == 1


def test_import_gguf_gives_a_directory_that_exports_again(tmp_path, tiny_phi_gguf, capsys):
    back = tmp_path / "back"
    assert main(["import-gguf", str(tiny_phi_gguf), str(back)]) == 0
    assert "wrote" in capsys.readouterr().err and (back / "config.json").is_file()
    assert main(["export-gguf", str(back), str(tmp_path / "again.gguf"), "--quant", "f32"]) == 0
    assert (tmp_path / "again.gguf").stat().st_size == tiny_phi_gguf.stat().st_size
    capsys.readouterr()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF but not really")
    assert main(["import-gguf", str(bad), str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not a readable GGUF" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("lab_command", ["synth", "train-demo", "demo-results"])
def test_the_demo_lab_is_not_a_radphi_subcommand(lab_command, capsys):
    """The demo-model lab runs as `python -m lab.demo.<module>`, outside the product."""
    with pytest.raises(SystemExit) as exc:
        main([lab_command, "--help"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_default_model_follows_radphi_model(monkeypatch, tmp_path):
    from radphi import settings

    demo = tmp_path / "demo.gguf"
    demo.write_bytes(b"GGUF")
    monkeypatch.setattr("radphi.settings.DEMO_MODEL", demo)
    monkeypatch.delenv("RADPHI_MODEL", raising=False)
    assert settings.default_model_spec() == str(demo)
    monkeypatch.setenv("RADPHI_MODEL", "openai:m@http://127.0.0.1:1/v1")
    assert settings.default_model_spec() == "openai:m@http://127.0.0.1:1/v1"
    monkeypatch.setenv("RADPHI_MODEL", "none")
    assert settings.default_model_spec() is None


def test_run_threads_reach_the_llamacpp_backend(tmp_path, tiny_phi_gguf, capsys):
    from radphi import backends

    backends.clear_cache()
    inp = tmp_path / "in.jsonl"
    records.write_jsonl(inp, [{"id": "1", "findings": "Small left pleural effusion."}])
    assert main(["run", "impression_prediction", "--model", str(tiny_phi_gguf), "--threads", "1", "--input", str(inp),
                 "--output", str(tmp_path / "o.jsonl"), "--max-new-tokens", "4", "--no-progress"]) == 0
    # The run created (and cached) a backend with one thread.
    made = [b for key, b in backends._cache.items() if key[1] == str(tiny_phi_gguf)]
    assert [b.n_threads for b in made] == [1]
    assert records.read_jsonl(tmp_path / "o.jsonl")[0]["completion_tokens"] <= 4


def test_every_subcommand_has_a_handler_that_resolves():
    import importlib

    from radphi.cli import COMMANDS, DELEGATED, build_parser

    parser = build_parser()
    choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(choices) == set(COMMANDS)
    for name, target in DELEGATED.items():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), name


def test_wait_until_serving_reports_an_exited_process_and_a_silent_port():
    import pytest as _pytest

    from tests.localhost import free_port, wait_until_serving

    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    with _pytest.raises(RuntimeError, match="exited with 0"):
        wait_until_serving(done, f"http://127.0.0.1:{free_port()}/", timeout=5)
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with _pytest.raises(RuntimeError, match="did not answer within 1 s"):
            wait_until_serving(idle, f"http://127.0.0.1:{free_port()}/", timeout=1)
    finally:
        idle.kill()
        idle.wait()


def test_run_grounds_extraction_unless_told_not_to(tmp_path, tiny_phi_gguf, capsys):
    from tests.test_grounding import is_copy

    report = ("FINDINGS: Comparison is made to the prior study from ___. The endotracheal tube terminates 3.4 cm "
              "above the carina. Emphysema is noted in both upper lobes, which is new. No pneumothorax. "
              "IMPRESSION: No acute cardiopulmonary process.")
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "a", "report": report}) + "\n")
    for flag, name in (([], "grounded"), (["--no-grounding"], "free")):
        out = tmp_path / f"{name}.jsonl"
        assert main(["run", "extract_findings", "--model", str(tiny_phi_gguf), "--input", str(inp), "--output",
                     str(out), "--max-new-tokens", "48", "--no-progress", *flag]) == 0
        rec = records.read_jsonl(out)[0]
        assert rec["model_info"]["decoding"]["grounded"] is (name == "grounded")
        if name == "grounded":  # sentences of the report (this tiny model copies some)
            assert rec["prediction"] and is_copy(rec["prediction"], report), rec["prediction"]


def test_a_backend_that_cannot_ground_is_recorded_as_decoding_freely():
    from radphi.backends import GenParams
    from radphi.backends.fake import FakeBackend
    from radphi.runner import model_info

    assert model_info(FakeBackend(), "token", GenParams())["decoding"]["grounded"] is False
