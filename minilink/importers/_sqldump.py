"""The rows of the ``INSERT`` statements of a MySQL or MariaDB dump, read as a stream.

Theory of operation
-------------------
``mysqldump`` writes each table as ``CREATE TABLE `name` (...)`` and then extended
inserts, ``INSERT INTO `name` VALUES (...),(...),...;``, each on one line of up to a
megabyte (``--skip-extended-insert`` gives one row a statement, ``--complete-insert``
a column list, other tools such as phpMyAdmin spread one statement over many lines).
``rows`` reads any of them one statement at a time, so memory holds one statement,
never the file, and yields each tuple with its table, its columns and the line where
it begins on. Everything else (comments, ``SET``, ``LOCK TABLES``, other
statements) is passed over; a ``CREATE TABLE`` is read for its column names, so
that an insert without a column list still names its values.

The values implemented (MySQL's literal syntax, as dumps write it)::

    string   = "'" *( char / "''" / "\\" any ) "'"     ; also _binary'...' and _utf8mb4'...'
    number   = [ "-" ] digits [ "." digits ] [ "e" [ "-" / "+" ] digits ]
    hex      = "0x" *HEXDIG / "X'" *HEXDIG "'"         ; read as UTF-8 text
    NULL

A string's backslash escapes are MySQL's: ``\\0`` NUL, ``\\b``, ``\\n``, ``\\r``, ``\\t``,
``\\Z`` (Ctrl-Z), ``\\\\``, ``\\'``, ``\\"``; ``\\%`` and ``\\_`` keep their backslash (they
are LIKE escapes); any other escaped character stands for itself. A statement that
cannot be read is reported (``BadStatement``) and reading goes on after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Optional, Union

__all__ = ["BadStatement", "Tuple", "rows", "unescape"]

# INSERT [IGNORE] INTO `t` [(`a`, `b`)] VALUES   |   REPLACE INTO ...
_INSERT = re.compile(
    r"\s*(?:INSERT(?:\s+(?:IGNORE|LOW_PRIORITY|DELAYED|HIGH_PRIORITY))*\s+INTO|REPLACE"
    r"(?:\s+(?:LOW_PRIORITY|DELAYED))*\s+INTO)\s+(`(?:[^`]|``)+`|[A-Za-z0-9_$.]+)"
    r"\s*(?:\(([^)]*)\))?\s*VALUES\s*",
    re.IGNORECASE,
)
_CREATE = re.compile(
    r"\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(`(?:[^`]|``)+`|[A-Za-z0-9_$.]+)",
    re.IGNORECASE,
)
_COLUMN = re.compile(r"\s*`((?:[^`]|``)+)`\s")
# One value and the separator after it: "," or the tuple's ")".
_VALUE = re.compile(
    r"\s*(?:"
    r"(?:_binary|_utf8mb4|_utf8|_latin1)?\s*'((?:[^'\\]+|\\.|'')*)'"  # 1 string
    r"|(NULL)"  # 2
    r"|(-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)"  # 3 number
    r"|0x([0-9A-Fa-f]*)"  # 4 hex
    r"|[xX]'([0-9A-Fa-f]*)'"  # 5 hex string
    r")\s*([,)])",
    re.DOTALL,
)
_OPEN = re.compile(r"\s*\(")
_SEPARATOR = re.compile(r"\s*([,;]?)")
_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_ESCAPE = re.compile(r"\\(.)|''", re.DOTALL)
#: A statement larger than this is refused rather than held in memory.
_MAX_STATEMENT = 256 * 1024 * 1024


def unescape(text: str) -> str:
    """A MySQL string literal's body as the text it stands for."""
    if "\\" not in text and "''" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        char = match.group(1)
        if char is None:
            return "'"
        if char in "%_":
            return "\\" + char
        return _ESCAPES.get(char, char)

    return _ESCAPE.sub(one, text)


@dataclass(frozen=True)
class Tuple:
    """One row of an insert: its table, the column names (``None`` when neither the
    statement nor a ``CREATE TABLE`` before it gave them), its values (text, or
    ``None`` for NULL), the line it begins on and its place in its statement (1...)."""

    table: str
    columns: Optional[tuple[str, ...]]
    values: tuple[Optional[str], ...]
    line: int
    index: int


@dataclass(frozen=True)
class BadStatement:
    """A statement that could not be read: where it began, and why."""

    table: str
    line: int
    reason: str


def _name(quoted: str) -> str:
    if quoted.startswith("`"):
        return quoted[1:-1].replace("``", "`")
    return quoted


def _value(match: re.Match[str]) -> Optional[str]:
    string, null, number, hex_a, hex_b = match.group(1, 2, 3, 4, 5)
    if string is not None:
        return unescape(string)
    if null is not None:
        return None
    if number is not None:
        return number
    digits = hex_a if hex_a is not None else hex_b
    return bytes.fromhex(digits).decode("utf-8", "replace")


class _Incomplete(Exception):
    """The statement goes on on the next line."""


def _tuples(statement: str, start: int) -> list[tuple[int, tuple[Optional[str], ...]]]:
    """The tuples of the VALUES list from ``start``; ``_Incomplete`` when the text
    ends inside it, ``ValueError`` when it is not a VALUES list."""
    found: list[tuple[int, tuple[Optional[str], ...]]] = []
    pos = start
    end = len(statement)
    while True:
        opened = _OPEN.match(statement, pos)
        if opened is None:
            if not statement[pos:].strip():
                raise _Incomplete
            raise ValueError(f"expected '(' at {statement[pos : pos + 20]!r}")
        pos = opened.end()
        begins = pos - 1  # the tuple's '('
        values: list[Optional[str]] = []
        while True:
            match = _VALUE.match(statement, pos)
            if match is None:
                rest = statement[pos:].lstrip()
                if not rest or rest[0] == "'" or rest.startswith(("_", "x'", "X'")):
                    raise _Incomplete  # a string that goes on on the next line
                raise ValueError(f"cannot read the value at {rest[:20]!r}")
            values.append(_value(match))
            pos = match.end()
            if match.group(6) == ")":
                break
        found.append((begins, tuple(values)))
        after = _SEPARATOR.match(statement, pos)
        assert after is not None  # every part of it is optional
        pos = after.end()
        if after.group(1) == ";":
            return found
        if after.group(1) == ",":
            continue
        if pos >= end:
            raise _Incomplete
        raise ValueError(f"expected ',' or ';' at {statement[pos : pos + 20]!r}")


def rows(lines: Iterable[tuple[int, str]]) -> Iterator[Union[Tuple, BadStatement]]:
    """The rows of every insert in numbered ``lines`` (see the module docstring)."""
    columns: dict[str, tuple[str, ...]] = {}
    creating: Optional[str] = None
    pending: list[str] = []  # the lines of an insert that goes on
    table = ""
    names: Optional[tuple[str, ...]] = None
    begun = 0
    start = 0
    size = 0
    for number, line in lines:
        if pending:
            pending.append(line)
            size += len(line)
        else:
            if creating is not None:
                column = _COLUMN.match(line)
                if column is not None:
                    columns[creating] = (*columns.get(creating, ()), _name("`" + column[1] + "`"))
                    continue
                creating = None
            head = line.lstrip()[:7].upper()
            if head.startswith("CREATE"):
                create = _CREATE.match(line)
                if create is not None:
                    creating = _name(create[1])
                    columns[creating] = ()
                continue
            if not (head.startswith("INSERT") or head.startswith("REPLACE")):
                continue
            insert = _INSERT.match(line)
            if insert is None:
                yield BadStatement("", number, "an INSERT statement that cannot be read")
                continue
            table = _name(insert[1])
            names = (
                tuple(_name(n.strip()) for n in insert[2].split(","))
                if insert[2] is not None
                else columns.get(table) or None
            )
            pending, begun, start, size = [line], number, insert.end(), len(line)
        if not line.rstrip().endswith(";") and size < _MAX_STATEMENT:
            continue  # an insert ends with ";" at the end of a line
        statement = "".join(pending)
        try:
            found = _tuples(statement, start)
        except _Incomplete:
            if size < _MAX_STATEMENT:
                continue
            found, reason = [], "the statement is larger than 256 MiB"
        except ValueError as exc:
            found, reason = [], str(exc)
        else:
            reason = ""
        pending = []
        if reason:
            yield BadStatement(table, begun, reason)
            continue
        line_of, counted = begun, 0
        for index, (begins, values) in enumerate(found, 1):
            line_of += statement.count("\n", counted, begins)
            counted = begins
            yield Tuple(table, names, values, line_of, index)
    if pending:
        yield BadStatement(table, begun, "the file ends inside this statement")
