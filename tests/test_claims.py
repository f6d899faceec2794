import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from lstm_lessons.claims import CLAIM_MIME, claim, read_claims, verdict_line


def test_claim_prints_a_verdict_outside_a_notebook(capsys):
    assert claim("fix_verified", 1, "the loss is smooth") is None
    assert capsys.readouterr().out == "[holds] fix_verified: the loss is smooth\n"
    claim("symptom_reproduced", False, "it oscillates")
    assert "[FAILS] symptom_reproduced" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["Fix Verified", "", "1abc", None])
def test_claim_rejects_names_that_are_not_snake_case(name):
    with pytest.raises(ValueError, match="snake_case"):
        claim(name, True, "x")


def _output(name, holds):
    return new_output("display_data", data={"text/plain": verdict_line(name, holds, "s"),
                                            CLAIM_MIME: {"name": name, "holds": holds}})


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
