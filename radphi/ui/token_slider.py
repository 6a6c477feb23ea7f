"""The max-new-tokens slider (`TokenSlider`): gradio's Slider without its bounds check.

Its maximum (the chosen model's context) guides the page. A value over it, from an API
client or a page built for another model, is not refused by gradio: the handler lowers
it to what the model's context leaves after the prompt and says so
(`radphi.ui.gen_settings.fit_new_tokens`), so the setting can never fail a run.

A module of its own because gradio writes an interface stub (.pyi) beside the source
of every component class it sees; token_slider.pyi is that stub, kept in the
repository so that nothing is written at run time.
"""

from __future__ import annotations

import gradio as gr


class TokenSlider(gr.Slider):
    """A Slider whose value is passed on as it is (`is_template`: drawn by the Slider's front end)."""

    is_template = True

    def preprocess(self, payload: float | None) -> float | None:
        return payload if payload is None else float(payload)
