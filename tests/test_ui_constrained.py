"""The app's side of issue 22: the "Constrained answers" box of the Labels and Compare
tabs, an answer that breaks its shape said so on the page, the prompt format used,
and the warning when the chosen format is not the model's own."""
from __future__ import annotations

from pathlib import Path

from radphi.backends.fake import FakeBackend
from radphi.ui import common, compare, labels_tab
from tests.test_ui_handlers import REPORT, make_ctx


def _final(gen):
    out = None
    for out in gen:
        pass
    return out


def test_labels_tab_marks_an_answer_that_breaks_its_shape(tmp_path: Path):
    fake = FakeBackend("fake:m", answers=["pleural effusion, endotracheal tube", "The report shows a tube."])
    ctx = make_ctx(tmp_path, {"m": fake})
    chips, raw, status, _ = _final(labels_tab.tag(ctx, REPORT, "m", 64, 0.0, "token", True))
    assert "prompt format token" in status
    assert status.count("constraint_violated") == 2  # both answers break their shape
    assert all(p.constrained for p in fake.params)


def test_the_constrained_box_reaches_the_decoder(tmp_path: Path):
    fake = FakeBackend("fake:m", answers=["Added: pneumothorax. Removed: none.", "pneumothorax: worsened"])
    ctx = make_ctx(tmp_path, {"m": fake})
    _, _, status, _ = _final(compare.compare(ctx, REPORT, REPORT, "m", 64, 0.0, "token", True))
    assert "constraint_violated" not in status and "answer shape checked" in status
    _final(compare.compare(ctx, REPORT, REPORT, "m", 64, 0.0, "token", False))
    assert [p.constrained for p in fake.params] == [True, True, False, False]


def test_a_format_other_than_the_models_own_is_warned_about(tmp_path: Path):
    class ChatFake(FakeBackend):
        def native_format(self) -> str:
            return "chat"

    ctx = make_ctx(tmp_path, {"chatty": ChatFake("fake:chatty")})
    assert ctx.backends.format_of("chatty") == "chat"  # no format in its entry: the model's own
    assert common.format_note(ctx, "chatty", "chat") == ""
    note = common.format_note(ctx, "chatty", "token")
    assert "own format is chat" in note
    _, fmt, shown, _ = common.model_changed(ctx, "chatty")
    assert fmt == "chat" and shown == ""
