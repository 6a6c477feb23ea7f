"""`python -m evaluation PRED.jsonl ... --out DIR`: the same as `radphi eval`."""

from radphi.evaluation.run_eval import cli

raise SystemExit(cli())
