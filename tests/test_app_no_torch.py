"""A CPU workstation runs the app on a GGUF without torch or transformers."""

from __future__ import annotations

import subprocess
import sys


def test_app_on_a_gguf_imports_neither_torch_nor_transformers(tiny_phi_gguf):
    code = (
        "import sys\n"
        "from radphi.ui.context import UISettings, create_context\n"
        "from radphi.ui.server import build_app\n"
        "from radphi.backends import GenParams, Request\n"
        f"ctx = create_context(UISettings(models=[{str(tiny_phi_gguf)!r}]))\n"
        "build_app(ctx)\n"
        "b = ctx.backends.backend(ctx.backends.names()[0])\n"
        "g = b.generate(Request.build('radiology_qa', {'question': 'q'}), GenParams(max_new_tokens=2))\n"
        "assert g.prompt_tokens > 0\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "ctx.close()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=180)
