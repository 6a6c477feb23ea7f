"""Each generation in the app is written to the audit log: model, prompt hash, parameters."""

from __future__ import annotations

import hashlib
from pathlib import Path

from radphi.backends import Request
from radphi.backends.fake import FakeBackend
from radphi.models_file import ModelEntry
from radphi.review import ReviewStore
from radphi.ui import impression
from radphi.ui.context import AppContext, ModelRegistry, UISettings


def test_generation_is_audited_with_a_prompt_hash_not_the_text(tmp_path: Path):
    fake = FakeBackend(answers=["Small left pleural effusion."])
    registry = ModelRegistry({"m": ModelEntry(name="m", spec="fake:m")}, "m", loader=lambda e: fake)
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o700)
    store = ReviewStore(tmp_path / "reviews.db")
    ctx = AppContext(settings=UISettings(), backends=registry, workdir=workdir, store=store)
    findings = "Small left pleural effusion. Patient Zebra Q."
    for _ in impression.draft(ctx, findings, "m", 32, 0.0, "token"):
        pass
    events = store.audit_log(action="generation")
    assert len(events) == 1
    detail = events[0]["detail"]
    prompt = Request.build("impression_prediction", {"findings": findings}).prompt
    assert detail["prompt_sha256"] == hashlib.sha256(prompt.encode()).hexdigest()
    assert detail["model"] == "m" and detail["params"]["max_new_tokens"] == 32 and detail["format"] == "token"
    assert "Zebra" not in str(events)
    # One writer, one schema: the entry for sending it to a set has the same keys, plus `edited`.
    from radphi.ui import common

    common.send_generation(ctx, ctx.generations.get(detail["generation"]).uid, "live", "", request=None)
    (sent,) = store.audit_log(action="generation_sent")
    assert set(sent["detail"]) == set(detail) | {"edited"} and sent["detail"]["prompt_sha256"] == detail["prompt_sha256"]
    assert detail["form"] == "cpu"  # where the fake model runs
