"""HTML for what a report tool left out: the input with each removal struck through and
its reason beside it, so nothing disappears silently (Report tools tab)."""

from __future__ import annotations

from radphi.extraction import Piece
from radphi.ui.render import esc

_DEL = "color:#991b1b;background:#fef2f2;text-decoration:line-through;"
_REASON = "color:#6b7280;font-size:0.8em;margin-left:2px;"


def removed_html(pieces: list[Piece] | None, note: str = "") -> str:
    """The pieces in order: kept text as it is, removed text in <del> with its reason."""
    if not pieces:
        body = f'<span style="color:#6b7280;">{esc(note)}</span>' if note else ""
        return f'<div class="rp-removed" id="rp-removed">{body}</div>'
    parts = []
    for piece in pieces:
        text = esc(piece.text).replace("\n", "<br>")
        if piece.removed:
            parts.append(f'<del class="rp-del" title="{esc(piece.reason)}" style="{_DEL}">{text}</del>'
                         f'<span class="rp-reason" style="{_REASON}">[{esc(piece.reason)}]</span>')
        else:
            parts.append(f'<span class="rp-kept">{text}</span>')
    count = sum(p.removed for p in pieces)
    head = (f'<div style="font-weight:600;margin-bottom:4px;">Removed ({count}), struck through</div>' if count
            else '<div style="font-weight:600;margin-bottom:4px;">Nothing removed</div>')
    return f'<div class="rp-removed" style="line-height:1.6;">{head}{"".join(parts)}</div>'
