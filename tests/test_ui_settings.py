"""Settings that cannot break a run, Stop that says only what it did, and Batch uploads
(issue 23), as plain handler calls: max new tokens capped by the model's context minus
the prompt, the seed (drawn per click when sampling, and honoured by llama.cpp,
transformers and an OpenAI-compatible server), the format warning, the cut-off mark and
finish_reason, a cut label list marked incomplete, the status as data, Stop on finished
and failed answers, Batch Stop keeping finished rows, and UTF-16/other encodings."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from radphi.backends import GenParams, Request
from radphi.backends.fake import FakeBackend
from radphi.ui import batch, common, labels_tab, qa
from radphi.ui.gen_settings import MIN_ANSWER_TOKENS, fit_new_tokens, gen_params
from radphi.ui.streaming import stream_task
from tests.test_ui_handlers import last, make_ctx

WORDS = " ".join(f"w{i}" for i in range(400))


def steps_of(ctx, *args, **kw):
    return list(stream_task(ctx, *args, **kw))


# ---------------------------------------------------------------- max new tokens

def test_max_new_tokens_is_lowered_to_what_the_context_leaves_and_the_page_says_so(tmp_path):
    fake = FakeBackend(f"fake:{WORDS}", context_length=200)
    ctx = make_ctx(tmp_path, {"m": fake})
    request = Request.build("radiology_qa", {"question": "What is a pneumothorax?"})
    prompt = fake.count_tokens(request.prompt)
    final = steps_of(ctx, "m", "radiology_qa", {"question": "What is a pneumothorax?"}, 5000, 0.0, "token")[-1]
    assert final.error is None and fake.params[-1].max_new_tokens == 200 - prompt
    assert final.data["max_new_tokens"] == 200 - prompt and final.data["state"] == "done"
    assert f"Max new tokens lowered from 5,000 to {200 - prompt}" in final.status
    assert final.data["notices"][0].startswith("Max new tokens lowered")
    # Within the room nothing changes and nothing is said.
    params, notice = fit_new_tokens(fake, request, GenParams(max_new_tokens=10))
    assert params.max_new_tokens == 10 and notice is None


def test_a_long_prompt_keeps_a_floor_and_the_input_is_shortened_instead(tmp_path):
    fake = FakeBackend("fake:ok", context_length=300)
    ctx = make_ctx(tmp_path, {"m": fake})
    report = "FINDINGS: " + " ".join(["Small left pleural effusion."] * 70)  # ~280 words
    final = steps_of(ctx, "m", "abnormality_labels", {"report": report}, 256, 0.0, "token")[-1]
    assert final.error is None and fake.params[-1].max_new_tokens == MIN_ANSWER_TOKENS
    assert final.generation.truncated_input and "input is shortened" in final.status


# ---------------------------------------------------------------- cut off

def test_an_answer_cut_by_the_limit_is_marked_in_the_page_the_data_and_the_record(tmp_path):
    ctx = make_ctx(tmp_path, {"m": FakeBackend(f"fake:{WORDS}")})
    *_, record, _ = last(qa.answer(ctx, "Explain everything.", None, "m", 7, 0.0, "token", keep=(keep := {})))
    assert record["finish_reason"] == "length" and record["completion_tokens"] == 7
    assert keep["data"]["finish_reason"] == "length" and keep["data"]["cut_off"] is True
    _, status, _, _ = last(qa.answer(ctx, "Explain everything.", None, "m", 7, 0.0, "token"))
    assert 'class="rp-cut-off" data-tokens="7"' in status and "Cut off at 7 tokens" in status
    (tmp_path / "b").mkdir()
    short = make_ctx(tmp_path / "b", {"m": FakeBackend("fake:Air in the pleural space.")})
    *_, record, _ = last(qa.answer(short, "What is a pneumothorax?", None, "m", 64, 0.0, "token"))
    _, status, _, _ = last(qa.answer(short, "What is a pneumothorax?", None, "m", 64, 0.0, "token"))
    assert record["finish_reason"] == "stop" and "Cut off" not in status


def test_a_label_list_cut_by_the_limit_does_not_look_complete(tmp_path):
    fake = FakeBackend(answers=["pleural effusion, atelectasis, cardiomegaly, edema, pneumonia",
                                "endotracheal tube"])
    ctx = make_ctx(tmp_path, {"m": fake})
    keep: dict = {}
    chips, _, status, _ = last(labels_tab.tag(ctx, "FINDINGS: Effusion.", "m", 3, 0.0, "token", False, keep=keep))
    assert "Abnormality labels: this list may be incomplete" in chips and 'data-tokens="3"' in chips
    assert chips.index("rp-cut-off") < chips.index("rp-labels")  # above the chips
    assert "Tubes" not in chips.split("rp-labels")[0]  # the second answer was complete
    assert keep["data"]["state"] == "done"
    assert [t["cut_off"] for t in keep["data"]["tasks"]] == [True, False]


# ---------------------------------------------------------------- seed and format

def test_sampling_draws_a_new_seed_per_click_and_a_fixed_seed_repeats(tmp_path):
    fake = FakeBackend("fake:ok")
    ctx = make_ctx(tmp_path, {"m": fake})
    seeds = set()
    for _ in range(3):
        final = steps_of(ctx, "m", "radiology_qa", {"question": "Q?"}, 8, 0.7, "token", seed=5, new_seed=True)[-1]
        assert final.data["seed"] == fake.params[-1].seed and f"sampled with seed {final.data['seed']}" in final.note
        seeds.add(final.data["seed"])
    assert len(seeds) == 3
    for new_seed, temperature in ((False, 0.7), (True, 0.0)):  # a chosen seed, or greedy: no new seed
        steps_of(ctx, "m", "radiology_qa", {"question": "Q?"}, 8, temperature, "token", seed=5, new_seed=new_seed)
        assert fake.params[-1].seed == 5
    final = steps_of(ctx, "m", "radiology_qa", {"question": "Q?"}, 8, 0.7, "token", seed=-1, new_seed=False)[-1]
    assert final.error == "The seed must be a whole number from 0 to 2,147,483,647, not -1."
    with pytest.raises(Exception, match="whole number of 1 or more"):
        gen_params(0, 0.0)


def test_a_format_other_than_the_models_own_is_warned_with_the_answer(tmp_path):
    class ChatFake(FakeBackend):
        def native_format(self) -> str:
            return "chat"

    ctx = make_ctx(tmp_path, {"m": ChatFake("fake:ok")})
    final = steps_of(ctx, "m", "radiology_qa", {"question": "Q?"}, 8, 0.0, "token")[-1]
    assert "own format is chat" in final.data["format_warning"] and "own format is chat" in final.status
    assert "rp-warning" in common.format_note(ctx, "m", "token")
    final = steps_of(ctx, "m", "radiology_qa", {"question": "Q?"}, 8, 0.0, "chat")[-1]
    assert final.data["format_warning"] is None and "own format" not in final.status


@pytest.mark.parametrize("kind", ["llamacpp", "hf"])
def test_each_backend_honours_the_seed(kind, tiny_phi_gguf, tiny_phi_dir):
    if kind == "llamacpp":
        from radphi.backends.llamacpp import LlamaCppBackend

        backend = LlamaCppBackend(str(tiny_phi_gguf), n_threads=1)
    else:
        from radphi.backends.hf import HFBackend

        backend = HFBackend(str(tiny_phi_dir), compile=False)
    request = Request.build("radiology_qa", {"question": "What is a pneumothorax?"})

    def sample(seed: int) -> str:
        return backend.generate(request, GenParams(max_new_tokens=12, temperature=1.5, seed=seed)).text

    first = sample(11)
    assert sample(11) == first  # the same seed repeats the answer
    assert any(sample(s) != first for s in (12, 13, 14))  # another seed samples anew


def test_an_openai_compatible_server_gets_the_seed():
    from radphi.backends.openai_api import OpenAIBackend
    from tests.test_openai_api import Recorder, completion_reply

    rec = Recorder(completion_reply("ok"))
    backend = OpenAIBackend("openai:tiny@http://127.0.0.1:9/v1", http_client=rec.client, max_retries=0)
    backend.generate(Request.build("radiology_qa", {"question": "Q?"}), GenParams(temperature=0.8, seed=4321))
    assert rec.bodies()[-1]["seed"] == 4321


# ---------------------------------------------------------------- Stop

def test_stop_says_stopped_only_when_an_answer_was_still_coming():
    html, data = common.stopped("<div>Generating…</div>", {"state": "generating", "task": "radiology_qa"})
    assert "Stopped" in html and data == {"state": "stopped", "task": "radiology_qa"}
    assert "Stopped" in common.stopped("", {"state": "waiting"})[0]
    for state in ({"state": "done"}, {"state": "error", "message": "The question box is empty"}, {"state": "idle"},
                  None):
        unchanged = common.stopped("<div>answer tokens</div>", state)
        assert all(u == {"__type__": "update"} for u in unchanged), state


# ---------------------------------------------------------------- Batch

def rows_file(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"r{i}", "findings": f"Effusion {i}."}) + "\n" for i in range(n)))
    return path


def test_batch_stop_keeps_the_finished_rows(tmp_path):
    fake = FakeBackend("fake:one two three four five", delay=0.02)  # ~0.1 s a row
    ctx = make_ctx(tmp_path, {"m": fake})
    updates = batch.stream_batch(ctx, str(rows_file(tmp_path / "in.jsonl", 30)), "impression_prediction", "m",
                                 16, 0.0, "token", session="s1", poll=0.02)
    seen = []
    for update in updates:
        if isinstance(update[2], list):
            seen = update[2]
            assert update[3]["state"] == "running" and update[1].count("<progress") == 1
        if len(seen) >= 3:
            break
    updates.close()  # what gradio does on Stop
    file, summary, table, data = batch.stopped("s1")
    assert data["state"] == "stopped" and 3 <= data["done"] < 30 and len(table) == data["done"]
    assert [row[0] for row in table] == [f"r{i}" for i in range(len(table))]
    kept = [json.loads(line) for line in Path(file).read_text().splitlines()]
    assert [r["id"] for r in kept] == [row[0] for row in table]
    assert f"Stopped: {data['done']} lines done and kept" in summary
    time.sleep(0.3)
    assert len(Path(file).read_text().splitlines()) == len(kept)  # the run really stopped
    # Stop after a batch has finished changes nothing.
    last(batch.stream_batch(ctx, str(rows_file(tmp_path / "in2.jsonl", 2)), "impression_prediction", "m",
                            16, 0.0, "token", session="s2"))
    assert all(u == {"__type__": "update"} for u in batch.stopped("s2"))


def test_batch_marks_rows_cut_by_the_limit(tmp_path):
    ctx = make_ctx(tmp_path, {"m": FakeBackend(f"fake:{WORDS}")})
    file, summary, table, data = last(batch.stream_batch(ctx, str(rows_file(tmp_path / "in.jsonl", 2)),
                                                         "impression_prediction", "m", 5, 0.0, "token"))
    assert [row[2] for row in table] == ["cut off at 5 tokens"] * 2
    assert "2 lines cut off by the max new tokens limit" in summary and data["state"] == "done"
    assert {json.loads(line)["finish_reason"] for line in Path(file).read_text().splitlines()} == {"length"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_batch_reads_a_file_with_a_byte_order_mark(tmp_path, encoding, suffix):
    ctx = make_ctx(tmp_path, {"m": FakeBackend("fake:Small effusion.")})
    upload = tmp_path / f"reports{suffix}"
    text = ('id,findings\na,Épanchement pleural gauche.\n' if suffix == ".csv"
            else json.dumps({"id": "a", "findings": "Épanchement pleural gauche."}, ensure_ascii=False) + "\n")
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # Python's utf-16-be writes no mark; a file saved so has one
    upload.write_bytes(data)
    file, summary = batch.run_batch(ctx, str(upload), "impression_prediction", "m", 16, 0.0, "token")
    (row,) = [json.loads(line) for line in Path(file).read_text(encoding="utf-8").splitlines()]
    assert row["findings"] == "Épanchement pleural gauche." and "1 " in summary and "done" in summary


@pytest.mark.parametrize("content, why", [
    ("id,findings\na,ok\nb,caf\xe9\n".encode("latin-1"),
     "reports.csv is not UTF-8 text: line 3 holds the byte 0xE9"),
    ("id,findings\na,ok\n".encode("utf-16-le"),
     "reports.csv is not UTF-8 text: line 1 holds NUL bytes, so it is probably UTF-16 text without a byte-order"),
])
def test_batch_refuses_other_encodings_naming_the_file_and_line(tmp_path, content, why):
    ctx = make_ctx(tmp_path, {"m": FakeBackend("fake:x")})
    upload = tmp_path / "reports.csv"
    upload.write_bytes(content)
    file, summary, table, data = last(batch.stream_batch(ctx, str(upload), "impression_prediction", "m", 16, 0.0,
                                                         "token"))
    assert file is None and table == [] and data["state"] == "error"
    assert why in data["message"] and "Save it as UTF-8" in data["message"]
    assert "results file" not in summary


def test_a_batch_read_from_two_threads_shows_each_row_once(tmp_path):
    """The page's polling and Stop's handler read a running batch's results at once; each
    written row must reach the table exactly once, and a half-written line not at all."""
    import threading

    out = tmp_path / "out.jsonl"
    out.write_text("")
    run = batch.BatchRun(out, prepared=None, task="impression_prediction", model="m")  # type: ignore[arg-type]
    done = threading.Event()
    seen: list[list[str]] = []

    def reader() -> None:
        while not done.is_set():
            seen.append([r["id"] for r in run.read_new()])

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers:
        t.start()
    with out.open("a") as fh:
        for i in range(300):
            line = json.dumps({"id": f"r{i:03d}", "prediction": "x"}) + "\n"
            fh.write(line[:10])  # the runner is half-way through a line ...
            fh.flush()
            fh.write(line[10:])  # ... and then finishes it
            fh.flush()
    done.set()
    for t in readers:
        t.join()
    expected = [f"r{i:03d}" for i in range(300)]
    assert [r["id"] for r in run.read_new()] == expected
    assert all(ids == expected[: len(ids)] for ids in seen)  # never a row twice, never out of order
