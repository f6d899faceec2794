import json
import math
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from lstm_lessons.claims import (
    CLAIM_MIME,
    NUMBER,
    SANITIZER,
    Check,
    above,
    all_of,
    any_of,
    at_least,
    at_most,
    below,
    claim,
    decision_margin,
    evidence,
    is_true,
    read_claim_records,
    read_claims,
    verdict_line,
    versus_control,
)


def test_claim_prints_a_verdict_and_its_evidence_outside_a_notebook(capsys):
    assert claim("fix_verified", "the loss is smooth", below("index", 0.1234567, 0.2)) is None
    assert capsys.readouterr().out == ("[holds] fix_verified: the loss is smooth\n"
                                       "  - index: 0.123 (needs below 0.2)\n")
    claim("symptom_reproduced", "it oscillates", at_least("index", 0.1, 0.2), is_true("seen", True))
    assert capsys.readouterr().out == ("[FAILS] symptom_reproduced: it oscillates\n"
                                       "  - index: 0.1 (needs at least 0.2)  <- FAILS\n"
                                       "  - seen: yes\n")


def test_any_of_shows_every_alternative_and_marks_none():
    assert capsys_free_lines(claim, "symptom_reproduced", "it does not settle",
                             any_of(at_least("rebound", 22.31, 0.1), at_least("index", 0.05, 0.2))) == [
        "[holds] symptom_reproduced: it does not settle", "  - one of:",
        "      rebound: 22.3 (needs at least 0.1)", "      index: 0.05 (needs at least 0.2)"]


def capsys_free_lines(function, *args) -> list[str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        function(*args)
    return out.getvalue().splitlines()


def _masked(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((Path(__file__).resolve().parent.parent / SANITIZER).read_text())
    assert [p for p, _ in patterns] == [NUMBER]
    for pattern, replacement in patterns:
        text = re.sub(pattern, replacement, text)
    return text


def test_nbval_compares_the_same_verdict_on_two_cpus_as_equal_and_another_verdict_as_not():
    """The sanitizer masks the evidence's digits, so a claim that holds on two machines with other
    last digits (or another alternative of an any_of) prints the same checked text; a verdict that
    flips, or words that change, do not."""
    def shown(rebound, index, loss):
        return "\n".join(capsys_free_lines(
            claim, "fix_verified", "the loss settles within 10 % (index at or above 0.2)",
            any_of(at_least("rebound", rebound, 0.1), at_least("index", index, 0.2)),
            at_most("best validation loss", loss, 1e-2)))

    here, there = shown(22.3, 0.48, 0.0091234), shown(0.19, 0.311, -3.5e-06)
    assert here != there and _masked(here) == _masked(there)
    assert "#" in _masked(here) and not re.search(r"\d", _masked(here))
    assert _masked(shown(0.05, 0.1, 0.009)) != _masked(here)          # the claim fails there
    assert _masked(shown(22.3, 0.48, float("nan"))) != _masked(here)  # a check fails there


def test_a_control_that_shows_the_same_effect_makes_the_claim_fail():
    """A causal claim holds only when the effect is absent (or clearly smaller) in the control:
    the same large value with the cause proves nothing when the control has it too."""
    def shown(with_leak, control):
        return capsys_free_lines(claim, "centred_mean_leak", "the leak makes validation optimistic",
                                 versus_control("optimism", with_leak, control, ">=", 0.1,
                                                control_name="without the leak"))

    assert shown(1.23, 0.95) == [
        "[holds] centred_mean_leak: the leak makes validation optimistic",
        "  - optimism: 1.23 vs 0.95 without the leak, difference 0.28 (needs at least 0.1)"]
    assert shown(1.23, 1.20) == [
        "[FAILS] centred_mean_leak: the leak makes validation optimistic",
        "  - optimism: 1.23 vs 1.2 without the leak, difference 0.03 (needs at least 0.1)  <- FAILS"]
    assert shown(1.23, float("nan"))[0].startswith("[FAILS]")      # a control that failed to run
    # Other digits on another machine sanitize to the same checked text; a flipped verdict does not.
    assert _masked("\n".join(shown(1.23, 0.95))) == _masked("\n".join(shown(1.31, 0.9)))
    assert _masked("\n".join(shown(1.23, 0.95))) != _masked("\n".join(shown(1.23, 1.2)))


def test_a_control_check_keeps_both_values_the_measure_and_the_bound():
    check = versus_control("validation loss (data term)", 0.20, 0.25, "<=", 0.9, measure="ratio",
                           control_name="without dropout")
    assert check.holds and check.value == pytest.approx(0.8) and check.margin == pytest.approx(0.1 / 0.9)
    record = check.record()
    assert record["with_cause"] == 0.20 and record["control"] == 0.25 and record["bound"] == 0.9
    assert record["measure"] == "ratio" and record["control_name"] == "without dropout"
    json.dumps(record)
    assert not versus_control("loss", 0.25, 0.25, "<=", 0.9, measure="ratio").holds
    assert versus_control("loss", 1.0, 0.0, ">=", 2.0, measure="ratio").value == math.inf


@pytest.mark.parametrize("arguments, message", [
    (("q", 1.0, 0.5, "is", 0.1), "relation="),
    (("q", 1.0, 0.5, "~", 0.1), "relation="),
])
def test_a_control_check_refuses_a_relation_that_does_not_compare_numbers(arguments, message):
    with pytest.raises(ValueError, match=message):
        versus_control(*arguments)
    with pytest.raises(ValueError, match="measure='share'"):
        versus_control("q", 1.0, 0.5, ">=", 0.1, measure="share")


def test_decision_margin_is_the_closest_check_when_it_holds_and_the_furthest_when_it_fails():
    assert decision_margin([below("a", 0.5, 1.0), at_least("b", 3.0, 2.0)]) == pytest.approx(0.5)
    assert decision_margin([below("a", 1.5, 1.0), at_least("b", 1.0, 2.0),
                            at_least("c", 3.0, 2.0)]) == pytest.approx(-0.5)
    assert decision_margin([is_true("file", True)]) is None
    assert decision_margin([is_true("file", False), below("a", 2.0, 1.0)]) is None
    assert decision_margin([is_true("file", True), below("a", 0.9, 1.0)]) == pytest.approx(0.1)
    assert decision_margin([any_of(below("a", 2.0, 1.0), below("b", 1.5, 1.0))]) == pytest.approx(-0.5)


@pytest.mark.parametrize("name", ["Fix Verified", "", "1abc", None])
def test_claim_rejects_names_that_are_not_snake_case(name):
    with pytest.raises(ValueError, match="snake_case"):
        claim(name, "x", is_true("x", True))


@pytest.mark.parametrize("checks", [(), (True,), ("0.1 < 0.2",)])
def test_claim_needs_checks(checks):
    with pytest.raises(TypeError, match="needs one or more checks"):
        claim("fix_verified", "x", *checks)


@pytest.mark.parametrize("check, holds, margin", [
    (below("a", 0.1, 0.2), True, 0.5),
    (below("a", 0.2, 0.2), False, 0.0),       # strict: at the bound fails, with no room left
    (at_most("a", 0.2, 0.2), True, 0.0),
    (at_most("a", 0.3, 0.2), False, -0.5),
    (at_least("a", 3.0, 2.0), True, 0.5),
    (above("a", 1.0, 2.0), False, -0.5),
    (below("a", -1.0, 0.0), True, 1.0),       # a bound of 0: the plain difference
    (below("a", float("nan"), 0.2), False, None),
    (above("a", float("inf"), 0.2), False, None),
])
def test_check_holds_and_margin(check, holds, margin):
    assert check.holds is holds
    assert (check.margin is None) if margin is None else math.isclose(check.margin, margin)


def test_a_check_refuses_an_unknown_relation():
    with pytest.raises(ValueError, match="relation='=='"):
        Check("index", 0.1, "==", 0.2)


def test_any_of_holds_when_one_check_holds_and_keeps_every_check():
    either = any_of(at_least("rebound", 0.05, 0.1), at_least("index", 0.3, 0.2))
    assert either.holds and either.margin == pytest.approx(0.5)   # carried by the index
    record = either.record()
    assert record["relation"] == "any" and record["quantity"] == "rebound or index"
    assert [c["holds"] for c in record["checks"]] == [False, True]
    neither = any_of(at_least("rebound", 0.05, 0.1), is_true("doctor", False))
    assert not neither.holds and neither.margin == pytest.approx(-0.5)


@pytest.mark.parametrize("checks", [(), (below("a", 1, 2),), (below("a", 1, 2), "b")])
def test_any_of_needs_two_checks(checks):
    with pytest.raises(TypeError, match="any_of needs two or more checks"):
        any_of(*checks)


def test_a_fact_has_no_margin():
    assert is_true("file exists", 1).holds is True and is_true("x", 0).margin is None


def test_a_fact_shows_what_was_observed_apart_from_its_name():
    written = is_true("'best' file written every epoch", False, shows="after 9 of 10 epochs")
    assert evidence(written) == ["'best' file written every epoch: no (after 9 of 10 epochs)  <- FAILS"]
    record = written.record()
    assert record["quantity"] == "'best' file written every epoch"
    assert record["shows"] == "after 9 of 10 epochs" and record["holds"] is False
    assert "shows" not in is_true("x", True).record()


def test_records_are_json_even_for_a_nan_value():
    record = below("index", float("nan"), 0.2).record()
    assert json.loads(json.dumps(record, allow_nan=False)) == {
        "quantity": "index", "value": None, "relation": "<", "bound": 0.2, "holds": False, "margin": None}


def _output(name, holds):
    return new_output("display_data", data={"text/plain": verdict_line(name, holds, "s")},
                      metadata={CLAIM_MIME: {"name": name, "holds": holds}})


def test_read_claims_also_from_records_in_the_outputs_data():
    """Notebooks executed before the record moved to the metadata kept it in the data."""
    old = new_output("display_data", data={"text/plain": verdict_line("fix_verified", True, "s"),
                                           CLAIM_MIME: {"name": "fix_verified", "holds": True}})
    assert read_claims(new_notebook(cells=[new_code_cell("x", outputs=[old])])) == {"fix_verified": True}


def test_read_claims_from_outputs_not_from_text():
    nb = new_notebook(cells=[
        new_code_cell("x", outputs=[_output("symptom_reproduced", True)]),
        # Printed text that looks like a verdict is not a claim.
        new_code_cell("print()", outputs=[new_output("stream", name="stdout",
                                                     text="[holds] fix_verified: fake\n")]),
        new_code_cell("y", outputs=[_output("fix_verified", False), _output("fix_verified", True)]),
    ])
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # survives a save and reload
    assert read_claims(nb) == {"symptom_reproduced": True, "fix_verified": True}
    assert read_claims(new_notebook()) == {}
    assert list(read_claim_records(nb)) == ["symptom_reproduced", "fix_verified"]


def test_margin_report_finds_each_checks_worst_seed_and_counts_errors_as_not_held():
    from claims_margin import margin_rows, markdown, parse_seeds  # benchmarks/, on sys.path by conftest.py

    assert parse_seeds("1-3,8") == [1, 2, 3, 8] and parse_seeds("4") == [4]

    def run(seed, index, fact, status="passed"):
        checks = [below("index", index, 0.2).record(), is_true("doctor", fact).record()]
        holds = all(c["holds"] for c in checks)
        return {"lesson": "01_x", "seed": seed, "status": status,
                "claims": {"fix_verified": {"name": "fix_verified", "holds": holds, "checks": checks}}}

    runs = [run(1, 0.05, True), run(2, 0.15, True), run(3, 0.25, False), run(4, 0.01, True, "error")]
    index_row, fact_row = margin_rows(runs)
    assert index_row["held"] == 2 and index_row["seeds"] == 4       # seed 3 fails, seed 4 errored
    assert index_row["worst_seed"] == 3 and index_row["value"] == 0.25
    assert index_row["margin"] == pytest.approx(-0.25)
    assert fact_row["value"] == "true in 3/4"
    table = markdown([index_row, fact_row])
    assert "| 01 | fix_verified | 2/4 | index | 0.25 | < 0.2 | -25% | 3 |" in table


def test_an_evidence_page_holds_its_lessons_rows_with_a_pipe_escaped_and_its_errors(tmp_path):
    from claims_margin import evidence_page, margin_rows

    def run(lesson, seed, gap, status="passed"):
        checks = [below("|gap|", gap, 0.2).record()]
        return {"lesson": lesson, "seed": seed, "status": status, "error": None if status == "passed" else
                {"ename": "DeadKernelError", "evalue": "kernel died"},
                "claims": {"fix_verified": {"name": "fix_verified", "holds": gap < 0.2, "checks": checks}}}

    runs = [run("01_x", 1, 0.1), run("01_x", 2, 0.15, "error"), run("02_y", 1, 0.05)]
    notebook = tmp_path / "01_x.ipynb"
    nbformat.write(new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lesson 01 · X\n\ntext")]), notebook)
    page = evidence_page(notebook, [1, 2], margin_rows(runs), runs)
    assert page.startswith("# Evidence: Lesson 01 · X\n")
    assert "`benchmarks/claims_margin.py --seeds 1,2 --pages docs/evidence`" in page
    assert "| fix_verified | 1/2 | \\|gap\\| | 0.15 | < 0.2 | +25% | 2 |" in page
    assert "02_y" not in page and "| 02 |" not in page
    assert "- seed 2: DeadKernelError kernel died" in page


def test_margin_report_names_the_alternative_that_carried_an_any_of_claim():
    from claims_margin import margin_rows, markdown

    def run(seed, rebound, index):
        check = any_of(at_least("rebound", rebound, 0.1), at_least("index", index, 0.2)).record()
        return {"lesson": "01_x", "seed": seed, "status": "passed",
                "claims": {"symptom_reproduced": {"name": "symptom_reproduced", "holds": check["holds"],
                                                  "checks": [check]}}}

    (row,) = margin_rows([run(1, 0.8, 0.1), run(2, 0.05, 0.3), run(3, 2.0, 0.5)])
    assert row["held"] == 3 and row["worst_seed"] == 2 and row["margin"] == pytest.approx(0.5)
    assert "| 3/3 | rebound or index | 0.3 (index) | >= 0.2 | +50% | 2 |" in markdown([row])


def test_variant_report_gives_each_variants_smallest_margin_and_the_runs_whose_verdict_differs():
    from claims_margin import variant_markdown, variant_rows

    def run(seed, index):
        checks = [below("index", index, 0.2).record(), is_true("doctor", True).record()]
        return {"lesson": "01_x", "seed": seed, "status": "passed",
                "claims": {"fix_verified": {"name": "fix_verified", "holds": index < 0.2, "checks": checks}}}

    runs = {"base": [run(1, 0.1), run(2, 0.15)], "onednn-off": [run(1, 0.1), run(2, 0.25)]}
    index_row, fact_row = variant_rows(runs)
    assert index_row["margins"]["base"] == pytest.approx(0.25)
    assert index_row["margins"]["onednn-off"] == pytest.approx(-0.25)
    assert index_row["differs"] == ["onednn-off seed 2"]
    assert fact_row["margins"] == {"base": None, "onednn-off": None}
    table = variant_markdown([index_row, fact_row], ["base", "onednn-off"])
    assert "| 01 | fix_verified | index | < 0.2 | +25% | -25% | onednn-off seed 2 |" in table
    assert "| 01 | fix_verified | doctor | is true | fact | fact | onednn-off seed 2 |" in table


def test_records_in_metadata_are_read_only_where_asked():
    """Claims keep their record in the output's metadata; an exercise's answer is read from the
    data alone, where ll.grading.check writes it (so the grader's feedback shows every answer it
    graded)."""
    from lstm_lessons.claims import recorded

    output = new_output("display_data", data={"text/plain": "x", "application/vnd.x+json": {"in": "data"}},
                        metadata={"application/vnd.x+json": {"in": "metadata"}})
    nb = new_notebook(cells=[new_code_cell("x", outputs=[output])])
    assert list(recorded(nb, "application/vnd.x+json")) == [{"in": "data"}]
    assert list(recorded(nb, "application/vnd.x+json", metadata=True)) == [{"in": "metadata"}]


def test_a_face_shown_against_its_control_is_an_all_of_inside_any_of():
    # the rebound face: present with the cause (0.111 >= 0.1) and absent in the control (0.019 < 0.1);
    # the index face: present (0.41) but the control shows it too (0.31): only the first carries
    faces = any_of(
        all_of(at_least("rebound, failing run", 0.111, 0.1), below("rebound, control", 0.019, 0.1)),
        all_of(at_least("index, failing run", 0.41, 0.2), below("index, control", 0.31, 0.2)))
    assert faces.holds and faces.margin == pytest.approx(0.11)
    assert evidence(faces) == [
        "one of:", "  all of:", "    rebound, failing run: 0.111 (needs at least 0.1)",
        "    rebound, control: 0.019 (needs below 0.1)", "  all of:",
        "    index, failing run: 0.41 (needs at least 0.2)", "    index, control: 0.31 (needs below 0.2)"]
    record = faces.record()
    assert [c["relation"] for c in record["checks"]] == ["all", "all"]
    assert record["checks"][1]["holds"] is False and record["checks"][1]["margin"] == pytest.approx(-0.55)
    neither = any_of(all_of(at_least("a", 0.05, 0.1), below("b", 0.0, 0.1)),
                     all_of(at_least("c", 0.3, 0.2), below("d", 0.25, 0.2)))
    assert not neither.holds


def test_all_of_needs_two_checks():
    with pytest.raises(TypeError, match="all_of needs two or more checks"):
        all_of(below("a", 1, 2))
    with pytest.raises(TypeError, match="all_of needs two or more checks"):
        all_of(below("a", 1, 2), any_of(below("a", 1, 2), below("b", 1, 2)))
