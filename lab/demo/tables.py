"""The Markdown tables of `lab.demo.evaluate` (lab/demo/results/README.md).

Every cell comes from a metrics table written by `radphi.evaluation.aggregate.summarize`
(columns model, task, stratum, metric, value, ci_low, ci_high, ...): values x100 with
their CI, the best per row in bold, paired differences marked where the CI lies above 0.
"""

from __future__ import annotations

from typing import Any

DEMO, KEYWORD, UNTRAINED = "radphi-demo", "keyword", "untrained"
DEMO_FREE = "radphi-demo-free"  # the demo model without grounded decoding (extractive tasks only)

# The paper's tables: (heading, [(task, [metrics])]); the first metric is the headline one.
PAPER_TABLES = [
    ("Table 6 shape: radiology QA (synthetic knowledge questions)", [("radiology_qa", ["f1", "recall", "bleu1", "rougeL"])]),
    ("Table 10 shape: impression prediction", [("impression_prediction", ["f1", "rougeL", "bleu1", "radgraph_f1"])]),
    ("Table 13 shape: QA comprehension (no LLM judge here: lexical and set metrics)",
     [("qa_comprehension", ["f1", "rougeL"]), ("qa_temporal_findings", ["added_f1", "removed_f1", "f1"]),
      ("qa_temporal_progression", ["progression_accuracy"])]),
    ("Table 14 shape: label prediction", [("abnormality_labels", ["label_f1", "label_recall", "label_precision", "label_micro_f1"]),
                                          ("tubes_lines_devices_labels", ["label_f1", "label_recall", "label_precision", "label_micro_f1"])]),
    ("Table 15 shape: extract findings, extract impression and clean-up",
     [("cleanup_report_text", ["f1", "recall", "bleu1", "rougeL"]), ("extract_findings", ["f1", "recall", "bleu1", "rougeL"]),
      ("extract_impression", ["f1", "recall", "bleu1", "rougeL"])]),
]
HEADLINE = {task: metrics[0] for _, rows in PAPER_TABLES for task, metrics in rows}


def _row(table: Any, model: str, task: str, metric: str) -> Any:
    """The stratum-"all" row of (model, task, metric), or None."""
    rows = table[(table["model"] == model) & (table["task"] == task) & (table["metric"] == metric)
                 & (table["stratum"] == "all")]
    return None if rows.empty else rows.iloc[0]


def _cell(table: Any, model: str, task: str, metric: str, bold: bool = False) -> str:
    from radphi.evaluation.report import scale

    r = _row(table, model, task, metric)
    if r is None:
        return ""
    if r["value"] != r["value"]:  # NaN: not computable here (RadGraph without its model files)
        return "n/a"
    k = scale(metric)
    value = f"{r['value'] * k:.2f}"
    return f"{'**' + value + '**' if bold else value} [{r['ci_low'] * k:.2f}, {r['ci_high'] * k:.2f}]"


def _value(table: Any, model: str, task: str, metric: str) -> float | None:
    r = _row(table, model, task, metric)
    return None if r is None or r["value"] != r["value"] else float(r["value"])


def models_table(table: Any, rows: list[tuple[str, list[str]]], models: list[str]) -> list[str]:
    """Task x metric rows, one column per model, the best value in bold (the paper's layout)."""
    from radphi.evaluation.report import title
    from radphi.tasks import TASKS

    lines = ["| Task | Metric | " + " | ".join(models) + " |", "|---|---|" + "---|" * len(models)]
    for task, metrics in rows:
        for metric in metrics:
            values = {m: _value(table, m, task, metric) for m in models}
            best = max((v for v in values.values() if v is not None), default=None)
            cells = [_cell(table, m, task, metric, bold=values[m] is not None and values[m] == best) for m in models]
            lines.append(f"| {TASKS[task].title} | {title(metric)} | " + " | ".join(cells) + " |")
    return lines


def pairs_table(table: Any, rows: list[tuple[str, str]], pairs: list[str]) -> list[str]:
    """Paired differences (x100) with CIs; a check mark where the CI lies above 0."""
    from radphi.evaluation.report import title
    from radphi.tasks import TASKS

    lines = ["| Task | Metric | " + " | ".join(pairs) + " |", "|---|---|" + "---|" * len(pairs)]
    for task, metric in rows:
        cells = []
        for pair in pairs:
            cell = _cell(table, pair, task, metric)
            r = _row(table, pair, task, metric)
            mark = " ✓" if cell not in ("", "n/a") and r is not None and r["ci_low"] > 0 else ""
            cells.append(cell + mark)
        lines.append(f"| {TASKS[task].title} | {title(metric)} | " + " | ".join(cells) + " |")
    return lines


def verdict(table: Any, tasks: list[str]) -> list[str]:
    """Does the demo beat each baseline on each task's headline metric (paired CI above 0)?"""
    from radphi.evaluation.aggregate import pair_name

    lines = []
    for base in (KEYWORD, UNTRAINED):
        pair = pair_name(DEMO, base)
        won = []
        for task in tasks:
            r = _row(table, pair, task, HEADLINE[task])
            if r is not None and r["ci_low"] > 0:
                won.append(task)
        lost = [t for t in tasks if t not in won]
        lines.append(f"- Against the {base} baseline: significantly better on {len(won)} of {len(tasks)} tasks"
                     + (f"; not on {', '.join(lost)}." if lost else "."))
    for task in ("abnormality_labels", "tubes_lines_devices_labels"):
        value = _value(table, DEMO, task, "label_f1")
        if value is not None:
            lines.append(f"- {task} label F1 {value:.3f}: {'meets' if value >= 0.90 else 'misses'} the 0.90 target.")
    return lines


# What the paper reported for each ablation (quoted from its Tables 16 and 17, for comparison).
PAPER_ABLATIONS = {
    "format": "The paper (Table 16, radiology QA on chest articles): token format F1 29.17 against 5.4 for the "
              "default format.",
    "stage1": "The paper (Table 17, Rad-Phi2's report tasks): F1 83.07 with the general-instruction stage "
              "against 48.81 without.",
}


def ablation_findings(table: Any, pair: str, tasks: list[str], first: str, second: str) -> list[str]:
    """One line per task: which side the paired CI of the headline metric favours, if either."""
    from radphi.evaluation.report import title

    lines = []
    for task in tasks:
        r = _row(table, pair, task, HEADLINE[task])
        if r is None:
            continue
        if r["ci_low"] > 0:
            verdict = f"{first} is better"
        elif r["ci_high"] < 0:
            verdict = f"{second} is better"
        else:
            verdict = "no significant difference"
        lines.append(f"- {task} ({title(HEADLINE[task])}): {verdict} "
                     f"({r['value'] * 100:+.2f} [{r['ci_low'] * 100:.2f}, {r['ci_high'] * 100:.2f}]).")
    return lines


def ablation_section(table: Any, key: str, heading: str, models: list[str], labels: dict[str, str],
                     tasks: list[str], recipe_note: str) -> list[str]:
    from radphi.evaluation.aggregate import PAIR_SEP, pair_name

    named = table.copy()
    named["model"] = named["model"].map(lambda m: PAIR_SEP.join(labels.get(part, part) for part in m.split(PAIR_SEP)))
    shown = [labels[m] for m in models]
    lines = [f"## {heading}", "", recipe_note, ""]
    lines += models_table(named, [(t, [HEADLINE[t]]) for t in tasks], shown)
    lines += ["", "Paired difference (first row minus second, x100):", ""]
    lines += pairs_table(named, [(t, HEADLINE[t]) for t in tasks], [pair_name(*shown)])
    lines += ["", "Here, by the paired 95% CI:", ""]
    lines += ablation_findings(table, pair_name(*models), tasks, shown[0], shown[1])
    lines += ["", PAPER_ABLATIONS[key] + " Our models start from random weights, not from a pretrained Phi-2.", ""]
    return lines
