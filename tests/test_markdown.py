from __future__ import annotations

import pytest

from bot.markdown import Block, MarkdownError, Span, parse


def test_subset_parses() -> None:
    blocks = parse("Call **112** now.\nSee [IGI](https://igi.mai.gov.ro).\n\n- first\n- **second**")
    assert blocks == [
        Block(
            "paragraph",
            (
                Span("Call "),
                Span("112", bold=True),
                Span(" now. See "),
                Span("IGI", url="https://igi.mai.gov.ro"),
                Span("."),
            ),
        ),
        Block("bullet", (Span("first"),)),
        Block("bullet", (Span("second", bold=True),)),
    ]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("ok\n**never closed", 2, "never closed"),
        ("# Title", 1, "headings"),
        ("a\n\n1. first", 3, "numbered"),
        ("<b>x</b>", 1, "HTML"),
        ("[IGI](igi.ro)", 1, "not a valid web address"),
    ],
)
def test_unsupported_markup_is_reported_with_its_line(text: str, line: int, words: str) -> None:
    with pytest.raises(MarkdownError) as info:
        parse(text)
    assert info.value.line == line
    assert words in str(info.value)
