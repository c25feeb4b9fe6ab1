"""Differential fuzzing of the dialects: YOURLS's ``/yourls-api.php`` and Shlink's
``/rest/...``, one raw request through WSGI, ASGI and CGI (in process), one answer.

The apps are those of ``fuzz_harness`` (the same seven links, seed and clock), with
both dialects turned on. Requests are drawn for the dialects: YOURLS actions with
every field, valid or not, in the query, an urlencoded body or a multipart body (and
sometimes the bytes mangled), signed every way or not; Shlink routes with good, bad
and missing keys, JSON bodies of valid and invalid fields, and paging queries. For
each request, as in ``test_differential_fuzz``: no 5xx; a 4xx changes no link or
counter; the three answers are identical; a GET's HEAD answers alike without a body
(or, for YOURLS's ``shorturl``, is refused with 405) and changes nothing; and no
answer shows the protected link's target.

Bounded: ``MINILINK_FUZZ_PROFILE=ci`` (the default) runs 200 examples (about 6 s),
``nightly`` 5,000.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fuzz_harness import ADMIN, CODES, ENV, SECRET, _setup, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore
from minilink.testing.clients import SEED, ASGIClient, Client, FakeClock, Result, WSGIClient
from minilink.testing.inprocess import InProcessCGIClient
from minilink.testing.strategies import (
    RawRequest,
    aliases,
    bad_aliases,
    hostile_urls,
    titles,
    valid_urls,
)

SIGNATURE = "fuzz-signature"
KEY = "fuzz-shlink-key"
DIALECTS = {
    **ENV,
    "MINILINK_YOURLS_USERS": "alice:wonder land",
    "MINILINK_YOURLS_SIGNATURE": SIGNATURE,
    "MINILINK_SHLINK_API_KEYS": KEY,
}
_COMMON = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("minilink-dialect-fuzz-ci", max_examples=200, **_COMMON)
settings.register_profile("minilink-dialect-fuzz-nightly", max_examples=5000, **_COMMON)
PROFILE = os.environ.get("MINILINK_FUZZ_PROFILE", "ci")
_CREATING_GETS = (b"/yourls-api.php", b"/rest/v3/short-urls/shorten")
_HIDDEN = SECRET.split("//")[1].split("/")[0].encode()


@contextmanager
def three_apps() -> Iterator[dict[str, tuple[Client, MemoryStore]]]:
    with ExitStack() as stack:
        made: dict[str, tuple[Client, MemoryStore]] = {}
        for name in ("wsgi", "asgi", "cgi"):
            clock = FakeClock()
            config = Config.from_env(DIALECTS)
            store = MemoryStore()
            rng = random.Random(SEED)
            shortener = Shortener(store, config, clock=clock, randbelow=rng.randrange)
            _setup(shortener)
            app = App(shortener, config)
            stack.callback(store.close)
            client: Client
            if name == "wsgi":
                client = WSGIClient(app, clock=clock)
            elif name == "asgi":
                client = ASGIClient(app, clock=clock)
            else:
                client = InProcessCGIClient(app, clock=clock)
            made[name] = (stack.enter_context(client), store)
        yield made


junk = st.text(max_size=12)
codes = st.sampled_from([*CODES, "nope", "api", ""])


@st.composite
def yourls_auth(draw: st.DrawFn) -> dict[str, str]:
    kind = draw(st.sampled_from(["signature", "timed", "user", "wrong", "none", "admin"]))
    now = 1_795_870_800  # FakeClock's start, 2026-11-28T13:00:00Z
    if kind == "signature":
        return {"signature": SIGNATURE}
    if kind == "timed":
        stamp = str(now + draw(st.sampled_from([0, 43199, -43199, 43200, -43200, 10**9])))
        name = draw(st.sampled_from(["md5", "sha1", "sha256", "sha3-256", "MD5", "crc32b"]))
        python = name.lower().replace("-", "_")
        try:
            digest = hashlib.new(python, (stamp + SIGNATURE).encode()).hexdigest()
        except ValueError:
            digest = "0" * 32
        fields = {"timestamp": stamp, "signature": digest}
        if name != "md5":
            fields["hash"] = name
        return fields
    if kind == "user":
        return {"username": "alice", "password": draw(st.sampled_from(["wonder land", "x"]))}
    if kind == "wrong":
        return {"signature": draw(junk)}
    if kind == "admin":
        return {"signature": ADMIN}
    return {}


@st.composite
def yourls_requests(draw: st.DrawFn) -> RawRequest:
    fields: dict[str, str] = dict(draw(yourls_auth()))
    fields["action"] = draw(
        st.sampled_from(["shorturl", "expand", "url-stats", "stats", "db-stats", "version"]) | junk
    )
    options: dict[str, st.SearchStrategy[str]] = {
        "url": st.one_of(valid_urls(), hostile_urls(own_host="testserver"), junk),
        "keyword": st.one_of(aliases(), bad_aliases().filter(lambda a: isinstance(a, str)), junk),
        "title": st.one_of(titles(), junk),
        "shorturl": st.one_of(codes, codes.map(lambda c: "http://testserver/" + c), junk),
        "filter": st.sampled_from(["top", "bottom", "last", "rand", "x"]),
        "limit": st.sampled_from(["1", "3", "0", "-1", "1000000", "x", ""]),
        "start": st.sampled_from(["0", "1", "-5", "x"]),
        "format": st.sampled_from(["json", "xml", "simple", "jsonp", "", "JSON"]),
        "db": st.sampled_from(["1", "0"]),
        "callback": junk,
    }
    for name, strategy in options.items():
        if draw(st.booleans()):
            fields[name] = draw(strategy)
    pairs = list(fields.items())
    if draw(st.integers(0, 5)) == 0 and pairs:  # a field repeated, maybe differently
        name, value = draw(st.sampled_from(pairs))
        pairs.append((name, draw(st.sampled_from([value, value + "x"]))))
    encoded = urlencode(pairs).encode()
    way = draw(st.sampled_from(["query", "form", "multipart", "json"]))
    headers = [("Host", "testserver")]
    target, body = b"/yourls-api.php", b""
    method = "GET" if way == "query" else "POST"
    if way == "query":
        target += b"?" + encoded
    elif way == "form":
        body = encoded
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    elif way == "multipart":
        boundary = draw(st.sampled_from(["-" * 20 + "8dc0b3f1", "b", "x" * 71]))
        parts = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
            for n, v in pairs
        )
        body = (parts + f"--{boundary}--\r\n").encode("utf-8", "surrogatepass")
        headers.append(("Content-Type", f"multipart/form-data; boundary={boundary}"))
    else:
        body = json.dumps(fields).encode()
        headers.append(("Content-Type", "application/json"))
    if body and draw(st.integers(0, 6)) == 0:  # a few bytes mangled
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + draw(st.binary(min_size=1, max_size=3)) + body[at + 1 :]
    if body:
        headers.append(("Content-Length", str(len(body))))
    method = draw(st.sampled_from([method, method, method, "PUT"]))
    return RawRequest(method, target, tuple(headers), body)


SHLINK_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "longUrl": st.one_of(valid_urls(), hostile_urls(own_host="testserver"), st.integers()),
    "customSlug": st.one_of(aliases(), junk, st.none()),
    "tags": st.one_of(st.lists(st.sampled_from(["a", "docs", "B", "x y", ""]), max_size=3), junk),
    "title": st.one_of(titles(), st.none(), st.integers()),
    "maxVisits": st.one_of(st.integers(-2, 5), st.none(), junk),
    "validUntil": st.sampled_from([None, "2027-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "x"]),
    "validSince": st.sampled_from([None, "2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z"]),
    "forwardQuery": st.one_of(st.booleans(), junk),
    "crawlable": st.booleans(),
    "findIfExists": st.booleans(),
    "domain": st.sampled_from(["testserver", "other.example"]),
    "shortCodeLength": st.integers(0, 9),
}


@st.composite
def shlink_requests(draw: st.DrawFn) -> RawRequest:
    code = draw(codes)
    method, path = draw(
        st.sampled_from(
            [
                ("GET", "/rest/health"),
                ("GET", "/rest/v3/health"),
                ("GET", "/rest/v3/short-urls"),
                ("POST", "/rest/v3/short-urls"),
                ("GET", f"/rest/v3/short-urls/{code}"),
                ("PATCH", f"/rest/v3/short-urls/{code}"),
                ("DELETE", f"/rest/v3/short-urls/{code}"),
                ("GET", f"/rest/v3/short-urls/{code}/visits"),
                ("GET", "/rest/v3/tags"),
                ("GET", "/rest/v3/tags/stats"),
                ("GET", "/rest/v3/visits"),
                ("GET", "/rest/v3/domains"),
                ("GET", "/rest/v3/short-urls/shorten"),
                ("PUT", "/rest/v3/tags"),
                ("GET", "/rest/v3/nowhere"),
            ]
        )
    )
    query: list[tuple[str, str]] = []
    for name, values in (
        ("page", ["1", "2", "0", "x"]),
        ("itemsPerPage", ["1", "-1", "0", "x"]),
        ("searchTerm", ["docs", "EXAMPLE", "%"]),
        ("tags[]", ["docs", "x", "nope"]),
        ("orderBy", ["visits-DESC", "shortCode-ASC", "title", "x-UP"]),
        ("apiKey", [KEY, "wrong"]),
        ("longUrl", ["https://example.com/q", "javascript:x"]),
        ("format", ["txt", "json"]),
    ):
        if draw(st.integers(0, 3)) == 0:
            query.append((name, draw(st.sampled_from(values))))
    target = path.encode() + (b"?" + urlencode(query).encode() if query else b"")
    headers = [("Host", "testserver")]
    key = draw(st.sampled_from([KEY, KEY, KEY, "wrong", "", None, ADMIN]))
    if key is not None:
        headers.append(("X-Api-Key", key))
    body = b""
    if method in ("POST", "PATCH"):
        payload = {
            name: draw(strategy)
            for name, strategy in SHLINK_VALUES.items()
            if draw(st.integers(0, 2)) == 0 or (name == "longUrl" and method == "POST")
        }
        body = json.dumps(payload).encode()
        if draw(st.integers(0, 8)) == 0:
            body = draw(st.binary(max_size=40))
        headers.append(
            ("Content-Type", draw(st.sampled_from(["application/json"] * 5 + ["text/plain"])))
        )
        headers.append(("Content-Length", str(len(body))))
    return RawRequest(method, target, tuple(headers), body)


def _hides(request: RawRequest, store: MemoryStore) -> bool:
    if any(ADMIN in value for _, value in request.headers):
        return False
    if _HIDDEN in request.target or _HIDDEN in request.body:
        return False
    locked = store.get("locked")
    return locked is not None and locked.password_hash is not None and locked.url == SECRET


def _shows(result: Result) -> bool:
    return _HIDDEN in result.body or any(_HIDDEN.decode() in v for _, v in result.headers)


@settings(settings.get_profile(f"minilink-dialect-fuzz-{PROFILE}"))
@given(
    steps=st.lists(
        st.tuples(st.one_of(yourls_requests(), shlink_requests()), st.sampled_from([0, 0, 61])),
        min_size=1,
        max_size=3,
    )
)
def test_dialects_answer_alike_and_never_fail(steps: list[tuple[RawRequest, int]]) -> None:
    with three_apps() as adapters:
        for i, (request, wait) in enumerate(steps):
            answers: dict[str, Result] = {}
            for name, (client, store) in adapters.items():
                client.clock.advance(wait)
                before = snapshot(store)
                where = f"[{name}] step {i}: {steps[: i + 1]!r}"
                head = (
                    replace(request, method="HEAD").send(client)
                    if request.method == "GET"
                    else None
                )
                if head is not None:
                    assert snapshot(store) == before, f"{where}\n-> HEAD changed the store"
                hides = _hides(request, store)
                result = request.send(client)
                if hides:
                    for answer in (result, head):
                        assert answer is None or not _shows(answer), f"{where}\n-> {answer}"
                if head is not None and head.status == 405:
                    # A HEAD that would create a link (YOURLS's shorturl, Shlink's
                    # GET shorten) is refused.
                    assert request.target.startswith(_CREATING_GETS), where
                    assert "HEAD" not in (head.header("allow") or "HEAD"), where
                elif head is not None:
                    assert (head.status, head.headers, head.body) == (
                        result.status,
                        result.headers,
                        b"",
                    ), where
                assert result.status < 500, f"{where}\n-> {result.status} {result.body[:300]!r}"
                if 400 <= result.status < 500:
                    assert snapshot(store) == before, f"{where}\n-> {result.status} changed it"
                answers[name] = result
            first = answers["wsgi"]
            for name, answer in answers.items():
                assert (answer.status, answer.headers, answer.body) == (
                    first.status,
                    first.headers,
                    first.body,
                ), f"{name} differs from wsgi at step {i}: {steps[: i + 1]!r}"


def test_the_clock_start_is_the_fuzzed_timestamps() -> None:
    assert int(FakeClock()().timestamp()) == 1_795_870_800  # so "timed" signs for now
