"""Assemble the workbench and serve it with hospital defaults.

    python app.py [--model SPEC ...] [--models FILE] [--host 127.0.0.1] [--port 7860] [--auth FILE]
    radphi serve  (the same options)

- Binds 127.0.0.1 unless --host says otherwise; any other host needs --auth FILE.
- No analytics, no share link, no monitoring or MCP endpoints, no browser-side run
  history, no outside fonts: the page and the server contact no other host.
- Uploads and batch results go to a private temporary directory removed at exit,
  and the process's umask makes whatever it writes owner-only.

Gradio is imported only when the app is built, so `radphi serve --help` (and the
`radphi` CLI that calls `add_arguments`) stays quick.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from radphi.errors import RadphiError
from radphi.privacy import is_loopback_host
from radphi.ui import auth  # radphi.ui turns gradio's analytics off before anything imports gradio
from radphi.ui.context import (
    DEFAULT_MAX_CHARS,
    NO_MODEL_MESSAGE,
    AppContext,
    UISettings,
    create_context,
)
from radphi.ui.logins import LoginGuard
from radphi.ui.render import banner_html, status_html

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

TITLE = "radphi workbench"
CSS = """
.rp-banner { margin-bottom: 4px; }
footer { display: none !important; }
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The serve options, for `python app.py` and `radphi serve` alike."""
    d = UISettings()
    parser.add_argument("--model", action="append", default=[], metavar="SPEC",
                        help="a model SPEC for the picker (repeatable; named by file stem): a .gguf file, an HF "
                             "model directory or hub id, or openai:MODEL@URL (default: the embedded demo model)")
    parser.add_argument("--models", type=Path, metavar="FILE", help="models file (TOML) with named SPECs")
    parser.add_argument("--host", default=d.host, help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=d.port)
    parser.add_argument("--auth", type=Path, metavar="FILE",
                        help="users file (python -m radphi.ui.auth add USER --file FILE); required off loopback")
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS,
                        help=f"size limit per input field, in characters (default {DEFAULT_MAX_CHARS:,})")
    parser.add_argument("--n-ctx", type=int, default=0, help="llama.cpp context size (0: the model's own)")
    parser.add_argument("--threads", type=int, default=0,
                        help="llama.cpp threads (0: one per physical core; fewer leaves cores to other work)")
    parser.add_argument("--concurrency", type=int, default=d.concurrency,
                        help="requests handled at once (generation itself is serialised per model)")
    parser.add_argument("--max-upload-mb", type=int, default=d.max_upload_mb)
    parser.add_argument("--reviews-db", type=Path, metavar="FILE",
                        help="review database for the Reviewer and Dashboard tabs (default: $RADPHI_HOME/reviews.db)")
    parser.add_argument("--form", choices=["auto", "gpu", "cpu"], default=None,
                        help="for models with a GPU and a GGUF form (models file): which one answers (default: "
                             "each entry's own, else auto: the GPU when it has room, the GGUF otherwise)")


def settings_from_args(args: argparse.Namespace) -> UISettings:
    return UISettings(host=args.host, port=args.port, models=list(args.model or []), models_file=args.models,
                      max_chars=args.max_chars, auth_file=args.auth, n_ctx=args.n_ctx, threads=max(0, args.threads),
                      concurrency=max(1, args.concurrency), max_upload_mb=args.max_upload_mb,
                      reviews_db=getattr(args, "reviews_db", None), form=getattr(args, "form", None))


def host_problem(settings: UISettings) -> str | None:
    """Why the server must not start on this host, or None."""
    if not is_loopback_host(settings.host) and settings.auth_file is None:
        return (f"refusing to listen on {settings.host}: other machines could reach the app, and patient text "
                f"with it. Pass --auth FILE (users with salted password hashes: python -m radphi.ui.auth add "
                f"USER --file FILE), or bind 127.0.0.1 (the default).")
    return None


def store_warning(ctx: AppContext) -> str | None:
    """The review store's ledger, recomputed at start-up (`radphi review verify`): a warning
    for the page when it was changed behind the store's back, else None."""
    if ctx.store is None:
        return None
    try:
        report = ctx.store.verify()
    except Exception as exc:  # a store that cannot be read must not keep the app from starting
        log.warning("could not verify the review store: %s", type(exc).__name__)
        return f"The review store could not be verified ({type(exc).__name__}): treat its reviews with care."
    if report.ok:
        log.info("review store verified: %s", report.summary())
        return None
    log.warning("review store %s: %s", ctx.store.path, report.summary())
    return (f"The review store {ctx.store.path} was changed outside radphi: {report.problems[0]}. Its reviews "
            f"cannot be trusted as they stand; run radphi review verify for the details.")


def build_app(ctx: AppContext) -> "gr.Blocks":
    """The Blocks app: banner, then one tab per module."""
    import gradio as gr

    from radphi.ui import batch, compare, dashboard, impression, labels_tab, qa, report_tools, review

    tampered = store_warning(ctx)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.HTML(banner_html(), elem_id="banner", js_on_load=None)
        if tampered:
            gr.HTML(status_html(tampered, "error"), elem_id="store-tampered", js_on_load=None)
        if not ctx.backends.names():
            gr.HTML(status_html(NO_MODEL_MESSAGE, "error"), elem_id="no-model", js_on_load=None)
        with gr.Tabs():
            qa.build(ctx)
            impression.build(ctx)
            labels_tab.build(ctx)
            compare.build(ctx)
            report_tools.build(ctx)
            batch.build(ctx)
            review.build(ctx)
            dashboard.build(ctx)
    return demo


def theme() -> "gr.themes.Base":
    import gradio as gr

    # System fonts: the default theme's fonts are served locally, but naming none keeps
    # the page from asking any host, ours included, for a font file.
    return gr.themes.Default(font=[gr.themes.Font("system-ui"), "sans-serif"],
                             font_mono=[gr.themes.Font("ui-monospace"), "monospace"])


def launch_app(demo: "gr.Blocks", ctx: AppContext, *, block: bool = True, quiet: bool = False) -> Any:
    """Queue and launch with the safety settings; `block=False` returns at once (tests)."""
    s = ctx.settings
    users = auth.load_users(s.auth_file) if s.auth_file is not None else {}
    # Sign-in with growing delays, a lockout and an audit entry per attempt (radphi.ui.logins).
    guard = LoginGuard(auth.authenticator(users), store=ctx.store, known=set(users)) if s.auth_file is not None \
        else None
    demo.queue(default_concurrency_limit=s.concurrency)
    return demo.launch(
        server_name=s.host, server_port=s.port, share=False, auth=guard,
        app_kwargs=guard.app_kwargs() if guard is not None else None,
        auth_message="radphi workbench: sign in" if guard else None,
        prevent_thread_lock=not block, show_error=False, quiet=quiet, inbrowser=False,
        theme=theme(), css=CSS, enable_monitoring=False, mcp_server=False, ssr_mode=False, pwa=False,
        run_history=False, footer_links=[], max_file_size=f"{s.max_upload_mb}mb",
    )


def warm_up(ctx: AppContext) -> threading.Thread:
    """Load the default model in the background, so the first user does not wait for it."""
    def load() -> None:
        # Models with a GPU and a GGUF form say now which one answers and why (the log, and
        # the page beside the picker), and whether the two come from one checkpoint.
        for name, entry in ctx.backends.entries.items():
            if entry.two_forms:
                try:
                    ctx.backends.backend(name).pair_check()
                except Exception as exc:  # the page shows the error when someone picks it
                    log.warning("model %s: %s", name, exc)
        if not ctx.backends.default:
            return
        try:
            backend = ctx.backends.backend(ctx.backends.default)
            backend.context_length  # noqa: B018  (loads the model)
            log.info("default model %s ready", ctx.backends.default)
        except Exception as exc:  # the page shows the error when someone uses the model
            log.warning("default model %s did not load: %s", ctx.backends.default, exc)

    t = threading.Thread(target=load, name="radphi-warm-up", daemon=True)
    if ctx.backends.default or any(e.two_forms for e in ctx.backends.entries.values()):
        t.start()
    return t


def main(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit status (2: refused to start)."""
    settings = settings_from_args(args)
    problem = host_problem(settings)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    os.umask(0o077)  # uploads, results and caches the app writes: owner-only
    try:
        if settings.auth_file is not None:
            auth.load_users(settings.auth_file)  # fail now, with the reason, not at launch
        ctx = create_context(settings)
    except RadphiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    atexit.register(ctx.close)
    # SIGTERM (systemd, docker stop) ends the process without atexit handlers; as an
    # exception in the main thread it unwinds through `finally`, which removes the workdir.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if not is_loopback_host(settings.host):
        log.warning("listening on %s with sign-in; use a TLS proxy in front, or passwords cross the network "
                    "in clear text", settings.host)
    if not ctx.backends.names():
        log.warning("%s", NO_MODEL_MESSAGE)
    try:
        demo = build_app(ctx)
        warm_up(ctx)
        # Quiet: gradio's own banner suggests `share=True`, which this app never does.
        launch_app(demo, ctx, block=False, quiet=True)
        where = "this machine only" if is_loopback_host(settings.host) else "other machines too, with sign-in"
        print(f"* Running on local URL:  http://{settings.host}:{settings.port} ({where}); Ctrl+C stops it",
              flush=True)
        demo.block_thread()
    except OSError as exc:  # the port is taken
        print(f"error: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 1
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    from radphi.entry import run_module

    sys.exit(run_module("python -m radphi.ui.server", __doc__, add_arguments, main, level=logging.INFO))
