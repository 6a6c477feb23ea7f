"""Evaluation: the paper's metrics, the LLM judge, bootstrap CIs (from radphi.stats), CSVs and the report.

    metrics.py          lexical metrics: f1, precision, recall (LLaVA-Med's, llava_f1.py), bleu1, rougeL
    labels_metrics.py   label sets, temporal added/removed sets, progression accuracy
    radgraph_metric.py  RadGraph F1 (optional package; missing, never 0, without it)
    judge.py            the LLM judge (prompt in judge_prompt.txt), its reply parser and disk cache
    scoring.py          records -> one row of per-record metrics per record and model
    aggregate.py        rows -> the tidy metrics table with CIs and paired differences
    report.py           the self-contained plotly HTML report
    run_eval.py         `radphi eval` / `python -m radphi.evaluation.run_eval`: add_arguments(parser), main(args)

Nothing here is imported by `radphi` at module level; `radphi eval` imports run_eval lazily.
"""
