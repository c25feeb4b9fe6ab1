"""The dump reader on its own: MySQL's literals and escapes, statements over many lines,
and a statement it cannot read reported without stopping the rest."""

from __future__ import annotations

import pytest

from minilink.importers._sqldump import BadStatement, Tuple, rows, unescape


def _rows(text: str) -> list[object]:
    return list(rows(enumerate(text.splitlines(keepends=True), 1)))


@pytest.mark.parametrize(
    ("literal", "text"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param(r"it\'s", "it's", id="backslash-quote"),
        pytest.param("it''s", "it's", id="doubled-quote"),
        pytest.param(r"a\\b", "a\\b", id="backslash"),
        pytest.param(r"\"q\"", '"q"', id="double-quote"),
        pytest.param(r"l1\nl2\r\t", "l1\nl2\r\t", id="line-breaks-tab"),
        pytest.param(r"\0\Z\b", "\0\x1a\b", id="nul-ctrl-z-backspace"),
        pytest.param(r"100\%\_", "100\\%\\_", id="like-escapes-kept"),
        pytest.param(r"\x\y", "xy", id="other-escapes"),
    ],
)
def test_mysql_string_escapes(literal: str, text: str) -> None:
    assert unescape(literal) == text
    (row,) = _rows(f"INSERT INTO `t` VALUES ('{literal}');\n")
    assert isinstance(row, Tuple) and row.values == (text,)


def test_literals_of_every_kind() -> None:
    (row,) = _rows(
        "INSERT INTO `t` VALUES ('a',NULL,-12,3.5e2,0x6869,X'6f6b',_binary 'b',_utf8mb4'c');\n"
    )
    assert isinstance(row, Tuple)
    assert row.values == ("a", None, "-12", "3.5e2", "hi", "ok", "b", "c")


def test_columns_come_from_the_statement_or_the_create_table_before_it() -> None:
    found = _rows(
        "CREATE TABLE `t` (\n  `a` int,\n  `b` text,\n  PRIMARY KEY (`a`)\n);\n"
        "INSERT INTO `t` VALUES (1,'x');\n"
        "INSERT INTO `t` (`b`, `a`) VALUES ('y',2);\n"
        "INSERT INTO `other` VALUES (3);\n"
    )
    assert [(r.table, r.columns, r.values) for r in found if isinstance(r, Tuple)] == [
        ("t", ("a", "b"), ("1", "x")),
        ("t", ("b", "a"), ("y", "2")),
        ("other", None, ("3",)),
    ]


def test_a_statement_over_many_lines_and_a_string_holding_line_breaks() -> None:
    found = _rows(
        "INSERT INTO `t` VALUES\n(1,'one'),\n(2,'two; and\nthree);'),\n(3,'x');\nSELECT 1;\n"
    )
    assert [(r.line, r.index, r.values) for r in found if isinstance(r, Tuple)] == [
        (2, 1, ("1", "one")),
        (3, 2, ("2", "two; and\nthree);")),
        (5, 3, ("3", "x")),
    ]


def test_a_bad_statement_is_reported_and_the_next_ones_read() -> None:
    found = _rows(
        "INSERT INTO `t` VALUES (1,'a'),(oops);\n"
        "INSERT INTO `t` VALUES (2,'b');\n"
        "INSERT INTO `t` VALUES (3,'c'\n"
    )
    assert isinstance(found[0], BadStatement) and found[0].line == 1
    assert isinstance(found[1], Tuple) and found[1].values == ("2", "b")
    assert isinstance(found[2], BadStatement) and "ends inside" in found[2].reason
