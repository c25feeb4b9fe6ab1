"""The code grammar and the drawing of random codes."""

from __future__ import annotations

import pytest

from minilink.core.codes import is_code, random_code


def fake_random_bytes(*draws: list[int]):  # type: ignore[no-untyped-def]
    """``random_bytes`` handing out the given draws in turn, each padded to size."""
    pending = list(draws)
    calls: list[int] = []

    def random_bytes(n: int) -> bytes:
        calls.append(n)
        values = pending.pop(0)
        return bytes(values + [255] * (n - len(values)))  # 255: always rejected below

    random_bytes.calls = calls  # type: ignore[attr-defined]
    return random_bytes


def test_bytes_map_to_characters_modulo_the_alphabet() -> None:
    source = fake_random_bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert random_code("abc", 4, source) == "abca"
    source = fake_random_bytes([2, 5, 8, 11, 200])
    assert random_code("abc", 5, source) == "ccccc"


def test_bytes_at_or_above_the_last_full_multiple_are_skipped() -> None:
    # 7 characters: bytes 0..251 (36 x 7) are used, 252..255 would favour a..d.
    source = fake_random_bytes([252, 253, 254, 255, 251, 0, 6])
    assert random_code("abcdefg", 3, source) == "gag"


def test_draws_again_when_too_many_bytes_were_skipped() -> None:
    source = fake_random_bytes([255, 255, 1], [2, 3])  # 3 characters: 255 is skipped
    assert random_code("abc", 3, source) == "bca"
    assert len(source.calls) == 2  # type: ignore[attr-defined]


def test_one_draw_per_code_when_nothing_is_skipped() -> None:
    source = fake_random_bytes(list(range(64)))
    assert random_code("0123456789abcdef", 7, source) == "0123456"
    assert source.calls == [7 + 7 // 4 + 2]  # type: ignore[attr-defined]


@pytest.mark.parametrize("alphabet", ["a", "x" * 257])
def test_an_alphabet_must_fit_a_byte(alphabet: str) -> None:
    with pytest.raises(ValueError, match="2 to 256"):
        random_code(alphabet, 3, bytes)


def test_is_code() -> None:
    assert is_code("abc_-9")
    assert not is_code("")
    assert not is_code("a" * 101)
    assert not is_code("a.b")
    assert not is_code("ä")
