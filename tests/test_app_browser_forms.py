"""In a real headless Chromium: the model picker shows which form of a two-form model
answers (radphi.backends.forms), and why, before any answer and after a GPU failure.

Screenshot: tests/artifacts/model-form.png."""

from __future__ import annotations

import pytest

from tests.localhost import free_port
from radphi.ui.context import UISettings
from tests.test_app_browser import ARGS, CHROMIUM, shot
from tests.test_app_server import start_app

pytestmark = pytest.mark.usefixtures("chromium")  # skipped without it, failed in CI (tests/browser_env.py)


@pytest.fixture(scope="module")
def app(tiny_phi_dir, tmp_path_factory):
    from radphi.training.export_gguf import export_gguf

    tmp = tmp_path_factory.mktemp("forms_app")
    gguf = export_gguf(tiny_phi_dir, tmp / "tiny-f32.gguf", quant="f32")
    models = tmp / "models.toml"
    models.write_text(f'[models.tiny]\ngpu = "{tiny_phi_dir}"\ncpu = "{gguf}"\n', encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RADPHI_HOME", str(tmp / "home"))
        mp.setattr("radphi.backends.forms.probe_machine",
                   lambda **_: __import__("radphi.backends.forms", fromlist=["Machine"]).Machine(cpu_threads=1,
                                                                                                  llama_cpp=True))
        demo, ctx, url = start_app(UISettings(port=free_port(), models_file=models, threads=1), mp)
        yield url
        demo.close()
        ctx.close()


def test_the_model_picker_shows_the_form_in_use(app):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(app)
            page.get_by_text("Decision support, not a diagnosis").wait_for()
            page.get_by_role("tab", name="Impression").click()
            form = page.locator("#impression-model-info .rp-model-form")
            form.wait_for()
            assert form.get_attribute("data-form") == "cpu"
            text = form.inner_text()
            assert "CPU form (GGUF)" in text and "no CUDA -> F32 GGUF on 1 CPU thread" in text
            shot(page, "model-form.png")
        finally:
            browser.close()
