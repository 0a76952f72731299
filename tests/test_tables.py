"""optreg.tables: Markdown tables whose numeric columns are right-aligned."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from optreg.tables import is_number, markdown_table


def test_numeric_columns_are_right_aligned_and_render_as_a_gfm_table():
    text = markdown_table(
        ["optimizer", "steps", "best acc"],
        [["`SGD`", "not reached", "0.743"], ["Adam", 120, "0.812 ± 0.004"]],
    )
    assert text.splitlines()[1] == "|---|---:|---:|"
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert html.count("<tr>") == 3
    assert '<td style="text-align:right">120</td>' in html
    assert "<td>Adam</td>" in html


def test_pipes_in_cells_are_escaped():
    html = (
        MarkdownIt("commonmark")
        .enable("table")
        .render(markdown_table(["a", "b"], [["x | y", "1"]]))
    )
    assert "<td>x | y</td>" in html


@pytest.mark.parametrize(
    "text", ["0.743", "-1.2e-03", "1,024", "78%", "0.91 ± 0.01", "3.5×", ".5", "+2"]
)
def test_numbers(text):
    assert is_number(text)


@pytest.mark.parametrize("text", ["SGD", "1cycle", "0.1 then 0.01", "", "v2.1.0", "adam, 3"])
def test_not_numbers(text):
    assert not is_number(text)


def test_a_column_of_missing_values_only_stays_left_aligned():
    assert markdown_table(["a", "b"], [["x", "—"]]).splitlines()[1] == "|---|---|"


def test_rows_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="rows must have 2 cells like header, row 0 has 1"):
        markdown_table(["a", "b"], [["x"]])


def test_alignment_can_be_given_per_column():
    table = markdown_table(
        ["run", "epochs"], [["a", "never"], ["b", "3"]], right_aligned=[False, True]
    )
    assert table.splitlines()[1] == "|---|---:|"
    assert (
        markdown_table(["run", "epochs"], [["a", "never"], ["b", "3"]]).splitlines()[1]
        == "|---|---|"
    )
    with pytest.raises(ValueError, match="right_aligned must have 2 entries"):
        markdown_table(["run", "epochs"], [], right_aligned=[True])
