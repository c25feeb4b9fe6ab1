"""A coverage-guided fuzz target: URL normalisation and whole requests through the core.

The invariant: minilink answers, or raises its own 4xx error, and nothing else.

* URL mode: ``normalise_url`` returns a URL or raises ``InvalidURL`` (a 400). What it
  returns is ASCII, has no whitespace or control character, fits the length limit,
  starts with an allowed scheme and ``://``, and normalises to itself again.
* Query and JSON mode: ``parse_query`` and ``parse_json`` return or raise
  ``BadRequest``.
* Request mode: the input is read like a request on the wire (method, target,
  header lines, a blank line, the body), turned into a ``Request`` the way the
  adapters build one, and answered by ``App.handle`` on a memory store: the answer
  is never a 5xx (a bug is reported through ``on_error`` and fails the run), a HEAD
  answer has no body, ``Content-Length`` matches the body, and a ``Location`` is
  ASCII.

Under atheris (``pip install atheris``; Linux) this file is a libFuzzer target::

    python tests/reliability/fuzz_target.py -max_total_time=600 corpus/

The test suite runs it for 20 seconds (``test_fuzz.py``); without atheris, the same
``check`` runs under hypothesis instead.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import unquote_to_bytes

try:
    import atheris
except ImportError:  # hypothesis drives check() instead (see test_fuzz.py)
    atheris = None


def _imports() -> dict[str, Any]:
    from minilink.core import api, app, codes, forms, http, openapi, pages, service, urls
    from minilink.core.config import Config
    from minilink.core.errors import BadRequest, InvalidURL, MinilinkError
    from minilink.storage.memory import MemoryStore

    return {
        "api": api,
        "app": app,
        "codes": codes,
        "forms": forms,
        "http": http,
        "openapi": openapi,
        "pages": pages,
        "service": service,
        "urls": urls,
        "Config": Config,
        "BadRequest": BadRequest,
        "InvalidURL": InvalidURL,
        "MinilinkError": MinilinkError,
        "MemoryStore": MemoryStore,
    }


if atheris is not None and __name__ == "__main__":
    with atheris.instrument_imports(include=["minilink"]):
        M = _imports()
else:
    M = _imports()

ADMIN = "fuzz-admin-token"
NOW = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)
SCHEMES = (("http", "https"), ("http", "https", "ftp", "ws"))
BLOCKED = ((), ("evil.example", "b\u00fccher.example"))
OWN = ((), (("testserver", ""),), (("sho.rt:8080", "/s"),))


class Failure(AssertionError):
    """The invariant was broken."""


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def check_url(flags: int, data: bytes) -> None:
    url = _text(data)
    options: dict[str, Any] = {
        "allowed_schemes": SCHEMES[flags & 1],
        "blocked_hosts": BLOCKED[(flags >> 1) & 1],
        "own": OWN[((flags >> 2) & 3) % 3],
        "max_length": 4096 if flags & 16 else 64,
    }
    try:
        normal = M["urls"].normalise_url(url, **options)
    except M["InvalidURL"] as exc:
        if not 400 <= exc.status < 500:
            raise Failure(f"InvalidURL with status {exc.status}") from exc
        return
    if not isinstance(normal, str) or not normal.isascii():
        raise Failure(f"not ASCII: {normal!r}")
    if any(c.isspace() or not c.isprintable() for c in normal):
        raise Failure(f"whitespace or a control character: {normal!r}")
    if len(normal) > options["max_length"]:
        raise Failure(f"longer than the limit: {len(normal)}")
    scheme, sep, _ = normal.partition("://")
    if not sep or scheme not in options["allowed_schemes"]:
        raise Failure(f"scheme: {normal!r}")
    again = M["urls"].normalise_url(normal, **options)
    if again != normal:
        raise Failure(f"not idempotent: {normal!r} -> {again!r}")


def check_parsers(data: bytes) -> None:
    for parse in (
        lambda: M["forms"].parse_query(data.decode("latin-1")),
        lambda: M["api"].parse_json(data),
    ):
        try:
            parse()
        except M["BadRequest"] as exc:
            if not 400 <= exc.status < 500:
                raise Failure(f"BadRequest with status {exc.status}") from exc


def _app() -> Any:
    config = M["Config"](store="memory:", admin_token=ADMIN, rate_limit=0)
    store = M["MemoryStore"]()
    shortener = M["service"].Shortener(store, config, clock=lambda: NOW)
    for code in ("abc", "Docs_1-x", "limited"):
        shortener.shorten(
            f"https://example.com/{code}?q=1",
            alias=code,
            max_visits=2 if code == "limited" else None,
        )

    def report(exc: BaseException) -> None:
        raise Failure(f"an unexpected {type(exc).__name__}: {exc}") from exc

    return M["app"].App(shortener, config, on_error=report)


APP: Any = None
REQUESTS = [0]


def check_request(data: bytes) -> None:
    global APP
    REQUESTS[0] += 1
    if APP is None or REQUESTS[0] % 20_000 == 0:  # a fresh store now and then: bounded memory
        APP = _app()
    head, _, body = data.partition(b"\n\n")
    lines = head.split(b"\n")
    method = lines[0].decode("latin-1").strip() or "GET"
    target = lines[1] if len(lines) > 1 else b"/"
    raw_path, _, query = target.partition(b"?")
    headers: dict[str, str] = {}
    for line in lines[2:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        key = name.decode("latin-1").strip().lower()
        text = value.decode("latin-1").strip()
        headers[key] = headers[key] + ", " + text if key in headers else text
    request = M["http"].Request(
        method=method,
        # What a server hands the adapter: the path percent-decoded, as UTF-8 text
        # with U+FFFD for bytes that are not UTF-8.
        path=unquote_to_bytes(raw_path).decode("utf-8", "replace") or "/",
        query=query.decode("latin-1"),
        headers=headers,
        body=body,
        server=("testserver", 80),
        client="127.0.0.1",
    )
    response = APP.handle(request)
    if not 200 <= response.status < 500:
        raise Failure(f"status {response.status} for {data[:200]!r}")
    if method == "HEAD" and response.body:
        raise Failure("a HEAD answer with a body")
    length = response.header("content-length")
    if response.status != 204 and method != "HEAD" and length != str(len(response.body)):
        raise Failure(f"Content-Length {length} for {len(response.body)} bytes")
    location = response.header("location")
    if location is not None and not location.isascii():
        raise Failure(f"a non-ASCII Location: {location!r}")


def check(data: bytes) -> None:
    """The whole target: one input, one of three modes by its first byte."""
    if not data:
        return
    mode, rest = data[0], data[1:]
    if mode % 3 == 0:
        check_url(mode // 3, rest)
    elif mode % 3 == 1:
        check_parsers(rest)
    else:
        check_request(rest)


#: Inputs the fuzzer starts from: one of each kind the target reads.
SEEDS: tuple[bytes, ...] = (
    b"\x00https://Example.COM:443/a b?q=\xc3\xbc#f",
    b"\x10HTTPS://xn--bcher-kva.example/stra%C3%9Fe",
    b"\x03http://[::1]:8080/%zz",
    b"]http://[::%zz\xff\xff1]/@%zz",  # found by this target: an IPv6 zone kept as text
    b"\x13http://testserver/x",
    b"\x01url=https%3A%2F%2Fa.b%2F&alias=x&alias=y",
    b'\x01{"url": "https://example.com/", "expires_in": 60, "max_visits": 2}',
    b"\x02POST\n/api/links\ncontent-type: application/json\ncontent-length: 31\nhost: t\n\n"
    b'{"url": "https://example.com/"}',
    b"\x02POST\n/\ncontent-type: application/x-www-form-urlencoded\ncontent-length: 25\n"
    b"origin: http://testserver\n\nurl=https%3A%2F%2Fa.b%2Fc",
    b"\x02GET\n/abc\nuser-agent: Slackbot\n\n",
    b"\x02HEAD\n/abc+\n\n",
    b"\x02GET\n/limited\n\n",
    b"\x02GET\n/api/links/abc/stats?days=7\n\n",
    b"\x02GET\n/api/links?limit=2&after=abc\nauthorization: Bearer fuzz-admin-token\n\n",
    b"\x02DELETE\n/api/links/Docs_1-x\nauthorization: Bearer fuzz-admin-token\n\n",
    b"\x02GET\n/?url=javascript:alert(1)\nhost: a:1\n\n",
    b"\x02GET\n/api/openapi.json\n\n",
    b"\x02GET\n/abc.svg\n\n",
)


def main(argv: list[str], test_one_input: Callable[[bytes], None] = check) -> None:
    assert atheris is not None, "pip install atheris"
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
