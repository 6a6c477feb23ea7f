"""HTML for the page: banner, status and latency lines, label chips, coloured lists.

Report text and model output are data, never markup. Everything that goes into a
`gr.HTML` passes through `esc`, which escapes more than `html.escape`: gradio 6's
HTML component treats its template as a JS template string and a Handlebars
template, so `$`, `{`, `}` and backticks are turned into character references too
(they render as themselves and cannot open a `${...}` or `{{...}}`).
"""

from __future__ import annotations

import html
from typing import Any, Iterable

from radphi.backends import Generation

_EXTRA = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;", "\\": "&#92;"})

BANNER = (
    "Decision support, not a diagnosis. The demo model is trained on synthetic data: "
    "check every output against the images and the full report."
)

# Inline styles, so the colours survive whatever CSS the page is launched with.
_CHIP = ("display:inline-block;margin:2px 4px 2px 0;padding:2px 10px;border-radius:12px;"
         "font-size:0.9em;border:1px solid {border};background:{bg};color:{fg};")
CHIP_STYLES = {
    "abnormality": _CHIP.format(border="#b45309", bg="#fef3c7", fg="#78350f"),
    "device": _CHIP.format(border="#1d4ed8", bg="#dbeafe", fg="#1e3a8a"),
    "unknown": _CHIP.format(border="#6b7280", bg="#f3f4f6", fg="#374151") + "font-style:italic;",
    "added": _CHIP.format(border="#15803d", bg="#dcfce7", fg="#14532d"),
    "removed": _CHIP.format(border="#b91c1c", bg="#fee2e2", fg="#7f1d1d"),
    "improved": _CHIP.format(border="#15803d", bg="#dcfce7", fg="#14532d"),
    "worsened": _CHIP.format(border="#b91c1c", bg="#fee2e2", fg="#7f1d1d"),
    "no change": _CHIP.format(border="#6b7280", bg="#f3f4f6", fg="#374151"),
}


def esc(text: Any) -> str:
    """Escape any value for HTML text or attribute context (see the module docstring)."""
    return html.escape("" if text is None else str(text), quote=True).translate(_EXTRA)


def banner_html() -> str:
    return (f'<div class="rp-banner" role="note" style="padding:8px 12px;border-radius:6px;'
            f'background:#fff7ed;border:1px solid #fdba74;color:#7c2d12;font-weight:600;">'
            f"{esc(BANNER)}</div>")


def status_html(text: str, kind: str = "info") -> str:
    """One status line: kind is info (latency, progress), warning (the answer came, but
    something the user must know: the model switched form) or error."""
    if kind == "error":
        style = "color:#991b1b;background:#fef2f2;border:1px solid #fecaca;padding:6px 10px;border-radius:6px;"
        return f'<div class="rp-status rp-error" role="alert" style="{style}">{esc(text)}</div>'
    if kind == "warning":
        style = "color:#92400e;background:#fffbeb;border:1px solid #fde68a;padding:6px 10px;border-radius:6px;"
        return f'<div class="rp-status rp-warning" role="status" style="{style}">{esc(text)}</div>'
    return f'<div class="rp-status rp-info" style="color:#374151;font-size:0.9em;">{esc(text)}</div>'


def latency_text(gen: Generation) -> str:
    """After each answer: time to first token, decode speed and token counts, honestly."""
    parts = []
    if gen.first_token_seconds is not None:
        parts.append(f"first token {gen.first_token_seconds * 1000:.0f} ms")
    tps = gen.tokens_per_second
    if tps is not None:
        parts.append(f"{tps:.1f} tok/s")
    parts.append(f"{gen.prompt_tokens} prompt + {gen.completion_tokens} answer tokens")
    parts.append(f"{gen.seconds:.2f} s in all")
    if gen.finish_reason == "cancelled":
        parts.append("stopped")
    elif gen.finish_reason == "length":
        parts.append(f"cut off at {gen.completion_tokens} tokens")
    if gen.truncated_input:
        parts.append("the input was shortened in its middle to fit the model's context")
    return " · ".join(parts)


def chip(text: str, kind: str) -> str:
    return f'<span class="rp-chip rp-chip-{esc(kind.replace(" ", "-"))}" style="{CHIP_STYLES[kind]}">{esc(text)}</span>'


def chip_group(title: str, items: Iterable[str], kind: str, empty: str = "none") -> str:
    items = list(items)
    body = "".join(chip(i, kind) for i in items) if items else f'<span style="color:#6b7280;">{esc(empty)}</span>'
    return (f'<div class="rp-group rp-group-{esc(kind.replace(" ", "-"))}" style="margin:6px 0;">'
            f'<div style="font-weight:600;margin-bottom:2px;">{esc(title)}</div>{body}</div>')


def label_chips(abnormality: dict[str, list[str]] | None, devices: dict[str, list[str]] | None) -> str:
    """Two groups of chips, and the names outside the vocabulary shown apart."""
    parts = []
    unknown: list[str] = []
    shown = {label for parsed in (abnormality, devices) if parsed for label in parsed.get("labels", [])}
    for title, parsed, kind in (("Abnormalities", abnormality, "abnormality"),
                                ("Tubes, lines and devices", devices, "device")):
        if parsed is None:
            parts.append(chip_group(title, [], kind, empty="…"))
            continue
        parts.append(chip_group(title, parsed.get("labels", []), kind))
        # A label of the other group ("NG tube" in the abnormality answer) is shown apart
        # only when the other group does not already have it as a chip.
        unknown.extend(u for u in parsed.get("unknown", []) if u not in unknown and u not in shown)
    if unknown:
        parts.append(chip_group("Named by the model, not in the label vocabulary", unknown, "unknown"))
    return '<div class="rp-labels">' + "".join(parts) + "</div>"


def comparison_html(findings: dict[str, list[str]] | None, progression: list[dict[str, str]] | None) -> str:
    """Added findings in green, removed in red, and a per-finding progression list."""
    parts = []
    if findings is None:
        parts.append(chip_group("Added", [], "added", empty="…"))
        parts.append(chip_group("Removed", [], "removed", empty="…"))
    else:
        parts.append(chip_group("Added", findings.get("added", []), "added"))
        parts.append(chip_group("Removed", findings.get("removed", []), "removed"))
    rows = []
    for item in progression or []:
        change = item.get("change", "")
        where = f" ({item['region']})" if item.get("region") else ""
        badge = chip(change, change) if change in CHIP_STYLES else esc(change)
        rows.append(f'<li class="rp-progress-item">{esc(item.get("finding", ""))}{esc(where)} {badge}</li>')
    if progression is None:
        body = '<span style="color:#6b7280;">…</span>'
    else:
        body = f'<ul style="margin:2px 0 0 18px;">{"".join(rows)}</ul>' if rows else \
            '<span style="color:#6b7280;">no finding with a change named</span>'
    parts.append(f'<div class="rp-group rp-group-progression" style="margin:6px 0;">'
                 f'<div style="font-weight:600;margin-bottom:2px;">Progression</div>{body}</div>')
    return '<div class="rp-compare">' + "".join(parts) + "</div>"


def model_info_html(info: dict[str, Any] | None, error: str | None = None) -> str:
    """Backend, device, quantization, context size, and where the text goes."""
    if error:
        return status_html(error, "error")
    assert info is not None
    device = info.get("device", "?")
    facts = [
        f"backend {info.get('backend', '?')}",
        f"device {device.upper() if device in ('cpu', 'gpu') else device}",
        f"quantization {info.get('quantization') or 'unknown'}",
        f"context {info.get('context_length') or '?'} tokens",
        f"prompt format {info.get('format', '?')}",
    ]
    line = f'<div class="rp-model-info" style="font-size:0.9em;color:#374151;">{esc(" · ".join(facts))}</div>'
    if info.get("form"):  # a model with a GPU and a GGUF form (radphi.backends.forms): which one answers, and why
        form = "GPU form (transformers)" if info["form"] == "gpu" else "CPU form (GGUF)"
        said = f"Answering with its {form}: {info.get('form_reason', '')}"
        line += (f'<div class="rp-model-form" data-form="{esc(info["form"])}" style="font-size:0.9em;color:#1e3a8a;">'
                 f'{esc(said)}</div>')
    for key in ("fallback", "warning"):
        if info.get(key):
            line += status_html(str(info[key]), "warning")
    if info.get("remote") and info.get("remote_allowed"):
        line += status_html(
            f"Text you submit to this model leaves this machine: it is sent, PHI-scrubbed, to {info.get('url')}.",
            "error")
    elif info.get("remote"):
        line += status_html(
            f"This model is on another machine ({info.get('url')}) and its models-file entry does not set "
            f"allow_remote = true, so no report text will be sent to it.", "error")
    else:
        line += '<div class="rp-local" style="font-size:0.85em;color:#166534;">Text stays on this machine.</div>'
    return line
