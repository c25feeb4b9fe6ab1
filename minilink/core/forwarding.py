"""Query forwarding: the visitor's query of ``/{code}?x=1`` added to a link's target.

The rule (SPEC section 9, ``forward_query``)::

    target  https://example.com/p?a=1&b=2#top
    visitor /{code}?b=9&c=3
    result  https://example.com/p?a=1&b=9&c=3#top

* The target's own parameters come first, in their order; a name the visitor gives
  too is sent once, at the place of its first occurrence in the target, with the
  visitor's value(s) (every value the visitor gave for it, in the visitor's order).
* The visitor's other parameters follow, in the visitor's order.
* The target's fragment stays at the end; the visitor's query cannot add one (a ``#``
  in it is sent as ``%23``).
* Names are compared percent-decoded (``a%62`` is ``ab``, ``+`` is a space); values
  are passed on as the visitor wrote them, bytes outside ASCII percent-encoded one
  by one (the query is latin-1 text of its bytes, ``Request.query``). Empty pieces
  (``&&``) are dropped.

The merged URL is not trusted: the caller checks it like any target
(``minilink.core.urls.normalise_url``), which refuses whitespace, control
characters and an over-long result.
"""

from __future__ import annotations

__all__ = ["merge_query"]


def _ascii(piece: str) -> str:
    """``piece`` with ``#`` and every non-ASCII character percent-encoded (as its
    latin-1 byte; a character beyond latin-1, which no adapter hands over, as UTF-8)."""
    if piece.isascii() and "#" not in piece:
        return piece
    out = []
    for char in piece:
        if char == "#":
            out.append("%23")
        elif char.isascii():
            out.append(char)
        else:
            raw = char.encode("latin-1") if ord(char) < 256 else char.encode("utf-8", "replace")
            out.append("".join(f"%{byte:02X}" for byte in raw))
    return "".join(out)


def _name(pair: str) -> bytes:
    """The parameter name of ``name=value``, percent-decoded, for comparison."""
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(pair.partition("=")[0].replace("+", " "))


def merge_query(url: str, query: str) -> str:
    """``url`` with the raw visitor ``query`` merged in (see the module docstring);
    ``url`` itself when the query has no parameter."""
    visitor = [_ascii(piece) for piece in query.split("&") if piece]
    if not visitor:
        return url
    base, hash_mark, fragment = url.partition("#")
    path, _, own = base.partition("?")
    given: dict[bytes, list[str]] = {}
    for pair in visitor:
        given.setdefault(_name(pair), []).append(pair)
    out: list[str] = []
    target_names: set[bytes] = set()
    for pair in own.split("&"):
        if not pair:
            continue
        name = _name(pair)
        if name in given:
            if name not in target_names:
                out.extend(given[name])  # once, where the target first has it
        else:
            out.append(pair)
        target_names.add(name)
    out.extend(pair for pair in visitor if _name(pair) not in target_names)
    return f"{path}?{'&'.join(out)}{hash_mark}{fragment}"
