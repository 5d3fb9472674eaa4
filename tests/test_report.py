from __future__ import annotations

import base64
import re

from grader.outcomes import BatchResult, Check, ItemScore
from grader.report import (histogram, item_stats, most_lost, render_class_summary,
                           render_student_report, student_href, write_class_summary,
                           write_student_report)
from grader.gradebook import rubric_columns
from results_factory import SCRIPT, make_batch, make_result, tiny_png

ESCAPED = "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"


def section(html: str, item_id: str) -> str:
    """The HTML of one rubric item's section."""
    start = html.index(f'id="item-{item_id}"')
    return html[start: html.index("</section>", start)]


def test_student_text_is_escaped_everywhere(tmp_path):
    html = write_student_report(make_result(), tmp_path / "alice" / "report.html").read_text()
    assert "<script" not in html  # the page itself has no scripts at all
    # observed value, manual answer, error message, stdout, figure title (alt and caption)
    assert html.count(ESCAPED) == 6
    assert f"s_t is the memory {ESCAPED} of the sentence so far" in html
    assert f"epoch 0 loss 0.69\n{ESCAPED}\n" in html


def test_hints_and_names_quoting_student_text_are_escaped():
    item = ItemScore("x", f"Item {SCRIPT}", 1, "auto", 0, 5, reason=f"crashed: {SCRIPT}",
                     checks=(Check.failed(f"check {SCRIPT}", 5, expected="1", observed="2",
                                          hint=f"you printed {SCRIPT}"),))
    html = render_student_report(make_result(item_list=(item,)))
    assert "<script" not in html
    assert f"you printed {ESCAPED}</dd>" in html
    assert f"<strong>Reason:</strong> crashed: {ESCAPED}" in html
    assert f'<span class="name">check {ESCAPED}</span>' in html


def test_header_shows_student_pack_total_sandbox_seed_mode():
    html = render_student_report(make_result("alice"))
    header = html[: html.index("<nav>")]
    for text in ("LSTM-RNN In Class: vanilla RNN sentence classifier", "lab7-inclass",
                 "<strong>alice</strong>", "<dd>bubblewrap</dd>", "<dd>1234</dd>",
                 "<dt>Mode</dt><dd>budget", "7.5<small> / 30</small>",
                 "<dd>7.5 / 20</dd>", "10 points await a TA"):
        assert text in header, text
    assert "PROVISIONAL" not in html


def test_provisional_results_are_labelled():
    html = render_student_report(make_result(provisional=True))
    assert '<span class="badge warn">PROVISIONAL</span>' in html
    assert "<strong>PROVISIONAL.</strong> Training ran in budget mode" in html
    assert "Provisional: budget-mode result" in section(html, "predictions")


def test_each_item_has_points_checks_and_reasons():
    html = render_student_report(make_result(forward_points=1))
    forward = section(html, "forward")
    assert '<span class="pts">1 / 5</span>' in forward
    assert "<pre>[[0.1], [-0.2]]</pre>" in forward
    assert "negative pre-activations became 0: relu instead of tanh?" in forward
    assert '<span class="badge partial">partial</span>' in forward
    sgd = section(html, "manual-sgd")
    assert '<span class="pts">0 / 5</span>' in sgd
    assert "<strong>Reason:</strong> banned API torch.optim.SGD at line 12" in sgd
    assert '<span class="pts">5 / 5</span>' in section(html, "init-weights")


def test_manual_items_pending_with_the_answer_for_the_ta():
    html = render_student_report(make_result())
    q5, q6 = section(html, "q-hidden-state"), section(html, "q-hard-to-train")
    assert '<span class="badge pending">pending: TA</span>' in q5
    assert '<span class="pts">– / 5</span>' in q5
    assert "(extracted for the TA)" in q5 and "s_t is the memory" in q5
    assert "No answer found in the submission." in q6


def test_runs_show_error_traceback_stdout_figures_and_notes():
    html = render_student_report(make_result())
    runs = html[html.index("Runs of the student"):]
    assert '<span class="badge bad">error</span>' in runs
    assert "NameError: name &#39;x&#39; is not defined" in runs
    assert "at line 17" in runs and "<pre>print(x)</pre>" in runs
    assert "Traceback (most recent call last)" in runs
    assert "Printed output (3 lines)" in runs
    png = base64.b64encode(tiny_png()).decode()
    assert f'src="data:image/png;base64,{png}"' in runs
    assert runs.count("data:image") == 1  # the GIF posing as a figure is not embedded
    assert "not a PNG image" in runs
    assert "notebook magic `%matplotlib inline` neutralised" in runs
    assert "training set: two sentences" in html[html.index("<h2>Notes</h2>"):]


def test_pages_are_self_contained():
    for html in (render_student_report(make_result()), render_class_summary(make_batch())):
        assert not re.search(r'(src|href)="(https?:)?//', html)
        assert "<link" not in html and "<script" not in html


def test_class_summary_table_links_and_points(tmp_path):
    html = write_class_summary(make_batch(), tmp_path / "index.html").read_text()
    table = html[html.index("<h2>Students</h2>"):]
    assert [m for m in re.findall(r'<a href="([^"]+)">', table)] == [
        "alice/report.html", "bob/report.html", "carol/report.html"]
    bob = table[table.index("bob/report.html"): table.index("carol/report.html")]
    cells = re.findall(r'<td class="num ([a-z]+)"[^>]*>(.*?)</td>', bob)
    assert cells == [("partial", '<strong>13.5</strong> / 30<br><small class="pending-pts">10 pending</small>'), ("full", "5"), ("partial", "1"),
                     ("full", "5"), ("partial", "2.5"), ("pending", "pending"),
                     ("pending", "pending")]
    assert "=HYPERLINK(&#34;http://evil&#34;) crashed" in bob
    assert "<li><code>subs/dave.zip</code>: not a zip file</li>" in html


def test_class_summary_names_the_item_most_students_lose():
    html = render_class_summary(make_batch())
    assert ("Most students lose <strong>2. Hidden state update and logits</strong> (forward):\n"
            "33% have full marks, mean 2 / 5.") in html
    lost = html[html.index("Where points were lost"): html.index("<h2>Students</h2>")]
    order = re.findall(r'<span class="muted">· ([a-z0-9-]+)</span>', lost)
    assert order == ["forward", "manual-sgd", "predictions", "init-weights", "q-hidden-state",
                     "q-hard-to-train"]
    assert '<tr class="hardest">\n    <td>2</td>' in lost
    assert "pending for 3 students (scored by a TA)" in lost


def test_item_stats_and_most_lost():
    batch = make_batch()
    stats = {s.id: s for s in (item_stats(batch, c) for c in rubric_columns(batch))}
    assert (stats["forward"].mean, round(stats["forward"].full_pct, 2)) == (2.0, 33.33)
    assert (stats["predictions"].mean, round(stats["predictions"].full_pct, 2)) == (12.5 / 3, 66.67)
    assert (stats["q-hidden-state"].scored, stats["q-hidden-state"].pending) == (1, 2)
    assert stats["q-hard-to-train"].mean is None
    assert most_lost(list(stats.values())).id == "forward"
    assert most_lost([stats["init-weights"], stats["q-hard-to-train"]]) is None


def test_histogram_bins():
    bins = histogram([0, 2.9, 3, 13.5, 30, 30], 30)
    assert len(bins) == 10
    assert [b.count for b in bins] == [2, 1, 0, 0, 1, 0, 0, 0, 0, 2]
    assert (bins[0].label, bins[-1].label) == ("0–3", "27–30")
    assert histogram([], 0) == [] and histogram([0.0], 0)[0].count == 1


def test_hostile_student_ids_cannot_escape_the_link():
    assert student_href("javascript:alert(1)") == "javascript%3Aalert%281%29/report.html"
    assert student_href("../../etc") == "..%2F..%2Fetc/report.html"
    html = render_class_summary(BatchResult("p", "t", results=[make_result('"><b>x')]))
    assert '<a href="%22%3E%3Cb%3Ex/report.html">&#34;&gt;&lt;b&gt;x</a>' in html


def test_empty_batch_still_renders():
    html = render_class_summary(BatchResult("p", "Pack", failures=[("x.zip", "bad zip")]))
    assert "No submission could be graded." in html
    assert "<li><code>x.zip</code>: bad zip</li>" in html


# -- issue 15 item 6: the class page's and the reports' defects -----------------------------

def _aon(passed: int, failed: int, *, all_or_nothing: bool = True) -> ItemScore:
    checks = tuple(Check.ok(f"ok {k}", 1) for k in range(passed)) + tuple(
        Check.failed(f"bad {k}", 1, expected="1", observed="0") for k in range(failed))
    return ItemScore("shapes", "Parameter shapes", 1, "auto", 0.0, 5, checks=checks,
                     all_or_nothing=all_or_nothing)


def test_all_or_nothing_item_scored_0_with_passed_checks_says_why():
    from grader.terminal import render
    from grader.views import item_text

    html = section(render_student_report(make_result(item_list=(_aon(2, 1),))), "shapes")
    assert "All or nothing." in html
    assert "2 of 3 sub-checks passed, but this item scores only when every sub-check passes, so it is 0/5." in html
    assert "All or nothing" in item_text(_aon(2, 1)) and "2 of 3" in render(
        make_result(item_list=(_aon(2, 1),)), color=False)
    # not all-or-nothing, or nothing passed: nothing to explain
    for item in (_aon(2, 1, all_or_nothing=False), _aon(0, 3)):
        assert "All or nothing" not in render_student_report(make_result(item_list=(item,)))


def test_manual_questions_say_where_answers_go_and_a_missing_one_is_not_red():
    html = render_student_report(make_result())
    q5, q6 = section(html, "q-hidden-state"), section(html, "q-hard-to-train")
    for q, number in ((q5, 5), (q6, 6)):
        assert "Answers go in answers.md next to your code (or a markdown cell of your notebook)" in q
        assert f"e.g. `## {number}` or `Question {number}`" in q
    assert 'class="reason"' not in q6  # pending, not lost: no red reason box
    assert "no answer was found for it yet" in q6


def test_figures_are_written_beside_the_report_and_open_full_size(tmp_path):
    path = write_student_report(make_result(), tmp_path / "alice" / "report.html")
    assert (tmp_path / "alice" / "figures" / "run1-fig1.png").read_bytes() == tiny_png()
    assert sorted(p.name for p in (tmp_path / "alice" / "figures").iterdir()) == ["run1-fig1.png"]  # no GIF
    html = path.read_text()
    assert '<a href="figures/run1-fig1.png" target="_blank" title="open full size"><img src="data:image/png' in html
    assert ">open full size</a>" in html


def test_pending_manual_points_are_pending_never_lost_on_the_class_page():
    html = render_class_summary(make_batch())
    facts = dict(re.findall(r'<div class="k">([^<]+)</div><div class="v">([^<]+)</div>', html))
    # alice 10, bob 13.5, carol 20 auto points out of 20 (manual items pending for all three)
    assert facts["Mean (auto-graded)"] == "14.5 / 20"
    assert "Mean" not in facts and facts["Manual: pending"] == "3 students"
    assert "Distribution of auto-graded points" in html
    labels = re.findall(r"<span>([^<]+)</span>", html[html.index('class="hist-labels"'):])[:10]
    assert labels[-1] == "18–20"
    carol = html[html.index("carol/report.html"):]
    assert re.search(r'<td class="num full"><strong>25</strong> / 30<br><small class="pending-pts">5 pending', carol)


def test_no_pending_keeps_totals():
    from dataclasses import replace

    batch = make_batch()
    batch.results = [replace(r, items=tuple(i for i in r.items if i.kind == "auto")) for r in batch.results]
    html = render_class_summary(batch)
    assert "Distribution of totals" in html and '<div class="k">Mean</div>' in html
    assert 'class="pending-pts"' not in html


def test_student_column_with_status_is_sticky():
    html = render_class_summary(make_batch())
    assert re.search(r"table\.grades td\.who \{ position: sticky; left: 0;", html)
    row = html[html.index('<td class="who"><a href="bob/report.html">'):]
    row = row[:row.index("</td>")]
    assert '<span class="badge bad"' in row and ">error</span>" in row


def test_a_sub_check_never_reached_is_neutral_not_a_second_failure():
    """The student's mistake is the failed sub-check; the ones its failure kept the grader from
    checking carry a neutral mark in the page and the terminal, with the reason."""
    from dataclasses import replace

    from grader import terminal

    result = make_result()
    forward = result.items[1]
    checks = (forward.checks[0], Check.unchecked("logits", 2, "the state update was not reproduced"))
    result = replace(result, items=(result.items[0], replace(forward, checks=checks)) + result.items[2:])
    html = section(render_student_report(result), "forward")
    assert html.count('class="check fail"') == 1 and html.count('class="check skip"') == 1
    assert "not checked: the state update was not reproduced" in html
    text = terminal.render(result, color=False)
    assert "– logits (0/2)" in text and "✗ s_t values (0/3)" in text
