"""Compare with prior, read from the two reports (radphi.comparison) and shown with the
model's answers (radphi.ui.compare_view): changes, colours, evidence, swap symmetry."""

from __future__ import annotations

from radphi.comparison import IMPROVED, NEW, RESOLVED, UNCHANGED, WORSENED, compare_reports
from radphi.ui.compare_view import COLOURS, comparison_view
from radphi.ui.compare import EXAMPLE_CURRENT, EXAMPLE_PRIOR

CURRENT = ("FINDINGS: Moderate left pleural effusion, increased. New right lower lobe opacity. "
           "The endotracheal tube has been removed. Mild cardiomegaly, unchanged. Bibasilar atelectasis has decreased.")
PRIOR = ("FINDINGS: Small left pleural effusion. Endotracheal tube terminates 4 cm above the carina. "
         "Mild cardiomegaly. Moderate bibasilar atelectasis.")


def changes(current, prior):
    return {c.finding: c for c in compare_reports(current, prior)}


def test_changes_come_from_the_current_reports_wording_with_evidence():
    got = changes(CURRENT, PRIOR)
    assert {k: c.change for k, c in got.items()} == {
        "pleural effusion": WORSENED, "lung opacity": NEW, "endotracheal tube": RESOLVED,
        "enlarged cardiac silhouette": UNCHANGED, "atelectasis": IMPROVED}
    assert got["pleural effusion"].current == "Moderate left pleural effusion, increased."
    assert got["pleural effusion"].prior == "Small left pleural effusion."
    assert got["lung opacity"].prior is None
    assert got["endotracheal tube"].current == "The endotracheal tube has been removed."
    assert got["endotracheal tube"].prior == "Endotracheal tube terminates 4 cm above the carina."


def test_severity_words_decide_when_the_current_report_names_no_change():
    got = changes("FINDINGS: Large right pleural effusion.", "FINDINGS: Small right pleural effusion.")
    assert got["pleural effusion"].change == WORSENED
    assert changes("FINDINGS: Small right pleural effusion.", "FINDINGS: Large right pleural effusion.")[
        "pleural effusion"].change == IMPROVED


def test_swapping_the_reports_swaps_new_and_resolved():
    for current, prior in ((CURRENT, PRIOR), (EXAMPLE_CURRENT, EXAMPLE_PRIOR)):
        forward, back = changes(current, prior), changes(prior, current)
        added = {k for k, c in forward.items() if c.change == NEW}
        removed = {k for k, c in forward.items() if c.change == RESOLVED}
        assert added and removed
        assert added == {k for k, c in back.items() if c.change == RESOLVED}
        assert removed == {k for k, c in back.items() if c.change == NEW}
        for k in added | removed:  # the evidence swaps sides too
            assert (forward[k].current, forward[k].prior) == (back[k].prior, back[k].current)


def test_each_finding_is_one_row_and_colours_are_clinical():
    html = comparison_view(CURRENT + " Small left effusion.", PRIOR)
    assert html.count('data-finding="pleural effusion"') == 1
    assert COLOURS[NEW][0] == "#b91c1c" and COLOURS[RESOLVED][0] == "#15803d" and COLOURS[IMPROVED][0] == "#15803d"
    assert COLOURS[WORSENED][0] == "#b45309" and COLOURS[UNCHANGED][0] == "#6b7280"
    assert 'data-change="new" data-finding="lung opacity" style="border-left:6px solid #b91c1c' in html


def test_the_models_answers_are_shown_against_the_rows_and_apart():
    html = comparison_view(CURRENT, PRIOR, {"added": ["right lower lobe opacity", "lung opacity"],
                                            "removed": ["zebra sign"]},
                           [{"finding": "pleural effusion", "region": "", "change": "worsened"}])
    assert "added" in html and "zebra sign: removed" in html and "rp-model-only" in html
    # Two model items naming one finding: one row, the model's word once, no duplicate.
    assert html.count('data-finding="lung opacity"') == 1 and html.count(">added<") + html.count(">added,") == 1
    assert "<script" not in comparison_view("<script>x</script> effusion.", "FINDINGS: effusion.")
