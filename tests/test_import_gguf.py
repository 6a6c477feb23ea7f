"""radphi.training.import_gguf: a phi2 GGUF turned back into a transformers directory must give
the source model's tokens and logits, and a bad file must be refused clearly."""
from __future__ import annotations

from pathlib import Path

import pytest

from radphi.training.import_gguf import GGUFImportError, import_gguf, main

TEXT = ("<instruct>Given the findings from a radiology report: small left pleural effusion.\n<output>"
        "Small left pleural effusion.<|endoftext|>")


def _hf(model_dir: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval(),
            AutoTokenizer.from_pretrained(model_dir))


def _logits(model, ids):
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


@pytest.fixture(scope="module")
def padded_exports(tiny_phi_padded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The padded tiny Phi exported as f32 and q8_0."""
    from radphi.training.export_gguf import export_gguf

    out = tmp_path_factory.mktemp("import_src")
    return {q: export_gguf(tiny_phi_padded_dir, out / f"tiny-{q}.gguf", quant=q) for q in ("f32", "q8_0")}


@pytest.mark.parametrize("quant, atol", [("f32", 1e-5), ("q8_0", 0.05)])
def test_round_trip_gives_the_source_models_tokens_and_logits(tiny_phi_padded_dir, padded_exports, tmp_path,
                                                              quant, atol):
    src_model, src_tok = _hf(tiny_phi_padded_dir)
    out = import_gguf(padded_exports[quant], tmp_path / "imported")
    model, tok = _hf(out)

    ids = src_tok(TEXT)["input_ids"]
    assert tok(TEXT)["input_ids"] == ids
    assert tok.decode(ids) == src_tok.decode(ids)
    assert len(tok) == len(src_tok)
    assert tok.eos_token == src_tok.eos_token
    assert set(tok.all_special_tokens) == set(src_tok.all_special_tokens) >= {"<instruct>", "<output>"}
    assert model.config.vocab_size == src_model.config.vocab_size  # the padding rows survive
    assert model.config.rope_parameters == src_model.config.rope_parameters
    got, want = _logits(model, ids), _logits(src_model, ids)
    assert (got - want).abs().max().item() < atol
    # q8_0 is not the source weights: the difference is real but small
    if quant == "q8_0":
        assert (got - want).abs().max().item() > 1e-6


def test_imported_directory_exports_to_the_same_gguf_tensors(padded_exports, tmp_path):
    """import then export (f32) gives back the f32 file's tensors bit for bit."""
    import numpy as np
    from gguf import GGUFReader

    from radphi.training.export_gguf import export_gguf

    again = export_gguf(import_gguf(padded_exports["f32"], tmp_path / "imp"), tmp_path / "again.gguf", quant="f32")
    first = {t.name: np.array(t.data) for t in GGUFReader(padded_exports["f32"]).tensors}
    second = {t.name: np.array(t.data) for t in GGUFReader(again).tensors}
    assert first.keys() == second.keys()
    for name, data in first.items():
        assert np.array_equal(data, second[name]), name


def test_imported_model_trains_from_its_directory(padded_exports, tmp_path):
    """What the import is for: a training stage can start from it (one optimizer step)."""
    import torch

    model, tok = _hf(import_gguf(padded_exports["q8_0"], tmp_path / "imp"))
    ids = torch.tensor([tok(TEXT)["input_ids"]])
    before = model.lm_head.weight.detach().clone()
    loss = model(ids, labels=ids).loss
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert torch.isfinite(loss)
    assert not torch.equal(before, model.lm_head.weight)


def test_refuses_other_architectures_and_bad_files(tiny_llama_dir, tmp_path):
    from radphi.training.export_gguf import export_gguf

    llama = export_gguf(tiny_llama_dir, tmp_path / "llama.gguf", quant="f32")
    with pytest.raises(GGUFImportError, match="architecture 'llama' is not supported"):
        import_gguf(llama, tmp_path / "out")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 40)
    with pytest.raises(GGUFImportError, match="not a readable GGUF"):
        import_gguf(bad, tmp_path / "out2")
    with pytest.raises(FileNotFoundError):
        import_gguf(tmp_path / "missing.gguf", tmp_path / "out3")


def test_cli_errors_exit_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf at all")
    with pytest.raises(SystemExit) as exc:
        main([str(bad), str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert not (tmp_path / "out").exists()
