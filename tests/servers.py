"""A real `python -m llama_cpp.server` on a free loopback port, for tests of the API paths."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx2
import pytest

from tests.localhost import free_port


@contextlib.contextmanager
def llama_server(gguf: Path, log_path: Path, *, n_ctx: int, alias: str, timeout: float = 60) -> Iterator[str]:
    """Start the server, wait until /v1/models answers, yield its base URL; stop it after.

    Its output (uvicorn logs one line per request) goes to `log_path`."""
    port = free_port()
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", str(n_ctx), "--model_alias", alias],
            stdout=log_file, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                if httpx2.get(url + "/models", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer in {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
