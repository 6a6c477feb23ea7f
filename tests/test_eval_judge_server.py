"""The judge end to end: `radphi eval --judge` against a real llama_cpp.server on loopback.

The server serves a tiny random model, so its replies are nonsense: every judgement must
be counted as missing (never 0). A second run must be answered from the cache, which is
checked on the server's side: its access log shows no new request.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from radphi.evaluation import run_eval
from tests.servers import llama_server as start_llama_server

N_CTX = 2048


@pytest.fixture(scope="module")
def judge_server(tiny_phi_gguf: Path, tmp_path_factory: pytest.TempPathFactory):
    """(URL, log path) of a llama_cpp.server on loopback; uvicorn logs each request."""
    log_path = tmp_path_factory.mktemp("judge_server") / "server.log"
    with start_llama_server(tiny_phi_gguf, log_path, n_ctx=N_CTX, alias="tiny-judge") as url:
        yield url, log_path


def served_requests(log_path: Path) -> list[str]:
    """The request lines of the server's access log (POSTs: completions and token counts)."""
    return [line for line in log_path.read_text(errors="replace").splitlines() if '"POST /' in line]


def eval_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run_eval.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_judge_end_to_end_counts_nonsense_as_missing_and_reruns_from_the_cache(judge_server, tmp_path, radphi_home,
                                                                               capsys):
    url, log_path = judge_server
    preds = tmp_path / "preds.jsonl"
    records = [
        {"id": f"c{i}", "task": "qa_comprehension", "model": "tiny", "report": "Small left pleural effusion.",
         "question": "Is there an effusion?", "reference": "Yes, a small left effusion.", "prediction": f"Yes {i}."}
        for i in range(3)
    ] + [
        {"id": "t0", "task": "qa_temporal_findings", "model": "tiny", "report": "Edema.", "prior_report": "Clear.",
         "reference": "Added: edema. Removed: none.", "prediction": "Added: edema. Removed: none."},
    ]
    preds.write_text("".join(json.dumps(r) + "\n" for r in records))
    spec = f"openai:tiny-judge@{url}"
    before = len(served_requests(log_path))

    assert run_eval.main(eval_args(str(preds), "--out", str(tmp_path / "one"), "--judge", spec,
                                   "--bootstrap", "20", "--no-progress")) == 0
    first = served_requests(log_path)[before:]
    completions = [line for line in first if "/v1/completions" in line]
    assert len(completions) == len(records), first  # each record was judged by the server
    assert all(" 200" in line for line in completions)
    err = capsys.readouterr().err
    assert f"{len(records)} unreadable replies and 0 failed calls" in err and "0 from the cache" in err

    rows = pd.read_csv(tmp_path / "one" / "records.csv")
    assert rows["judge_relevance"].isna().all() and rows["judge_accuracy"].isna().all()  # missing, never 0
    table = pd.read_csv(tmp_path / "one" / "metrics.csv")
    judged = table[(table["metric"] == "judge_relevance") & (table["stratum"] == "all")]
    assert judged["value"].isna().all() and set(judged["n"]) == {0} and judged["n_missing"].sum() == len(records)
    assert (table[table["metric"] == "f1"]["value"].notna()).all()  # the rest is still scored

    cache_files = list((radphi_home / "judge_cache").iterdir())
    assert cache_files and all((f.stat().st_mode & 0o077) == 0 for f in cache_files)
    with sqlite3.connect(radphi_home / "judge_cache" / "judgements.sqlite") as db:
        replies = [r[0] for r in db.execute("SELECT reply FROM judgements")]
    assert len(replies) == len(records) and any(replies)  # the model did answer, with nonsense

    # The second run: all from the cache; the server sees nothing.
    after_first = len(served_requests(log_path))
    assert run_eval.main(eval_args(str(preds), "--out", str(tmp_path / "two"), "--judge", spec,
                                   "--bootstrap", "20", "--no-progress")) == 0
    time.sleep(0.3)  # let the server flush any log line it would have written
    assert served_requests(log_path)[after_first:] == []
    assert f"{len(records)} from the cache, 0 requests" in capsys.readouterr().err
    assert (pd.read_csv(tmp_path / "two" / "metrics.csv")["value"].fillna(-1)
            == table["value"].fillna(-1)).all()

    # --purge-cache empties it; the next run asks the server again.
    assert run_eval.main(eval_args("--purge-cache")) == 0
    assert run_eval.main(eval_args(str(preds), "--out", str(tmp_path / "three"), "--judge", spec,
                                   "--bootstrap", "0", "--no-progress")) == 0
    third = [line for line in served_requests(log_path)[after_first:] if "/v1/completions" in line]
    assert len(third) == len(records)
