"""The Gradio workbench: one module per tab, each with a `build(ctx)` function and
plain-function handlers; `server.py` assembles and launches them.

    python app.py --model path/to/model.gguf        # same as `radphi serve`

Gradio reads GRADIO_ANALYTICS_ENABLED when it is imported, and starts a version
check against an outside host at Blocks() creation unless analytics are off. Every
tab module imports this package first, so setting it here, before any `import gradio`
under radphi.ui, keeps the app from phoning home. `server.build_app` also passes
`analytics_enabled=False` explicitly, for a gradio that was imported earlier.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
# huggingface_hub (imported by gradio_client) would otherwise send telemetry on some calls.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
