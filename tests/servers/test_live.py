"""The shared behavioural suite over real HTTP, through every real server.

Every scenario of ``tests/adapters/test_behaviour.py`` runs through each server in
``CONFIGS``, bare and mounted under ``/s``, with ``HTTPClient``. The same scenario also
runs in process (the WSGI adapter, which the shared suite proves equal to CGI and
ASGI), and the two transcripts must match request by request:

* status and body identical;
* headers identical once those a server adds or rewrites itself are set aside
  (``helpers.SERVER_HEADERS``: Date, Server, Connection, Keep-Alive,
  Transfer-Encoding), compared by name (``helpers.app_headers``: Apache reorders
  different names, which HTTP allows). ``Content-Length`` is compared like any other
  header, with two exceptions servers are entitled to (``CONTENT_LENGTH_RULES``).

Some requests of the suite are not valid HTTP/1.1 messages (a raw UTF-8 target, a
``Content-Length`` of ``abc``, a body shorter than its length ...). In process they
reach the adapter; a real server may refuse them itself before minilink sees them.
``may_refuse`` names them with the rule they break. For those only, the live answer
may be the server's own 4xx (or a closed connection): it is recorded, and the
scenario goes on with the in-process answer. Every other request must match.

Mounted under ``/s``, a scenario written for a bare mount is sent under ``/s`` (its
targets prefixed). Its own expectations about short URLs (``http://testserver/abc``)
do not hold there, so for such a scenario the in-process run may fail an
expectation; the live run must then fail one too, after the same answers. The ``e2``
scenarios are written for ``/s`` and assert that short URLs carry the prefix.

``EXCLUDED`` lists the scenarios a loopback connection cannot send, with the reason.
"""

from __future__ import annotations

import http.client
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))

import live_servers
from helpers import BASE_ENV, Scenario, app_headers
from test_admin_behaviour import ADMIN_SCENARIOS
from test_behaviour import SCENARIOS as BEHAVIOUR

from minilink.testing.cgi_entry import WRAP_VAR
from minilink.testing.clients import (
    Client,
    FakeClock,
    HTTPClient,
    Result,
    make_clients,
)

#: The shared scenarios and the management pages' whole session (their other scenario
#: adds nothing a server could change, and every case here costs a server's time).
SCENARIOS = [*BEHAVIOUR, *(s for s in ADMIN_SCENARIOS if s.id.startswith("admin-session"))]

#: Server configurations: (kind, mount), bare and under ``/s`` where the server can
#: (``live_servers.MOUNTS`` says where it cannot, and why).
CONFIGS = [
    (kind, mount)
    for kind in live_servers.NEEDS
    for mount in live_servers.MOUNTS.get(kind, ("", "/s"))
]

#: The servers added last run a subset of the scenarios (see ``SUBSET``), marked slow.
SUBSET_KINDS = (
    "lighttpd-cgi",
    "nginx-fcgiwrap",
    "busybox-httpd",
    "uwsgi",
    "granian-wsgi",
    "granian-asgi",
    "cheroot",
    "daphne",
)

#: Scenarios that need what a plain loopback connection cannot give, and why. Their
#: requests are covered in process by tests/adapters.
EXCLUDED = {
    "e24-https": "needs TLS: every request is sent with scheme='https'",
    "e25-host-fallback": "HTTP/1.1 needs a Host header; without one a server answers "
    "400 itself or fills in its own address, not 'testserver'",
    "e26-no-client-address": "a TCP peer always has an address (127.0.0.1)",
}

#: Where a server may differ in Content-Length, and why (see ``differences``).
CONTENT_LENGTH_RULES = (
    "a HEAD answer may leave out a zero Content-Length (RFC 9110 §9.3.2; Apache does)",
    "a 204 may get a 'Content-Length: 0' minilink does not send (wsgiref adds it)",
)

INCOMPLETE = "a body shorter than its Content-Length (an incomplete message, RFC 9112 §8)"

#: Divergences of a server that minilink cannot fix from inside its core: the scenario
#: is expected to fail there (strictly: once fixed, the mark must go).
#: (server, scenario) pairs known to differ, with the reason; empty while none do.
KNOWN: dict[tuple[str, str], str] = {}

#: What the servers in ``SUBSET_KINDS`` run: every scenario of ADAPTER-EDGES (the
#: ``e*`` ones: paths, queries, headers, bodies, redirects, HEAD, errors, the mount),
#: where servers differ, and one of each main flow (form, API, admin, delete, pages,
#: QR code); not the tables of invalid aliases and URLs, which the core decides
#: whatever server carries the request, and which the first servers run in full.
SUBSET = frozenset(
    {
        *(s.id for s in SCENARIOS if s.id[:1] == "e" and s.id[1:2].isdigit()),
        "home",
        "form-create",
        "form-error-keeps-input-escaped",
        "api-create-dedupe",
        "idn-and-non-ascii",
        "crlf-stays-encoded",
        "stats",
        "delete",
        "not-found-page",
        "preview",
        "qr-code-svg",
        "healthz",
        "method-not-allowed",
        "rate-limit",
    }
)

#: (server, scenario) pairs a server cannot run, with the reason: skipped there.
CANNOT: dict[tuple[str, str], str] = {
    **{
        ("lighttpd-cgi", scenario): "lighttpd answers a POST without Content-Length with "
        "its own 411 Length Required (RFC 9110 §15.5.12 allows it)"
        for scenario in ("e13-no-content-length", "method-not-allowed")
    },
    **{
        ("lighttpd-cgi", scenario): "lighttpd answers a percent-encoded byte that is not "
        "UTF-8 (%FF) in the path or query with its own 400 page"
        for scenario in ("e5-invalid-utf8-path", "e7-non-ascii-query")
    },
    **{
        (kind, "e9-duplicate-headers"): f"{kind} keeps one of two Content-Type (or "
        "Authorization) fields and passes the request on, where minilink refuses the pair"
        for kind in ("lighttpd-cgi", "nginx-fcgiwrap", "busybox-httpd", "granian-wsgi", "cheroot")
    },
    **{
        (kind, "not-found-page"): "granian answers a raw '<' in the request-target "
        "(not allowed in a URI, RFC 3986 §2) with its own 400"
        for kind in ("granian-wsgi", "granian-asgi")
    },
    ("cheroot", "e3-encoded-slash"): "cheroot keeps %2F encoded in PATH_INFO, where every "
    "other server decodes it (ADAPTER-EDGES 3)",
    ("cheroot", "e6-dot-and-empty-segments"): "cheroot answers //abc with its own 400 "
    "(it reads it as an absolute URI)",
    ("uwsgi", "e10-forwarded-for-spoof-ignored"): "uWSGI's http-socket takes "
    "X-Forwarded-Proto from any peer as the request's scheme, before minilink decides",
    ("busybox-httpd", "e1-trailing-slash-and-root"): "busybox httpd answers a path "
    "ending in '/' with its own 404 and never runs the script for it",
    ("busybox-httpd", "e3-encoded-slash"): "busybox httpd decodes %2F before it looks "
    "for the script, and answers /a%2Fb with its own 404",
}

#: Header fields that must appear at most once (RFC 9110 §5.3): a server may refuse
#: a request with two.
SINGLETONS = ("host", "content-length", "content-type", "authorization")


def may_refuse(method: str, target: str, headers: Any, body: bytes) -> Optional[str]:
    """Why a server may answer this request itself, or ``None`` when it is valid."""
    pairs: Sequence[tuple[str, str]] = list(
        headers.items() if isinstance(headers, Mapping) else headers or ()
    )
    if not target.isascii():
        return "the request-target is not ASCII (RFC 9112 §3.2, RFC 3986 §2)"
    path = target.split("?", 1)[0]
    if any(s in (".", "..") for s in path.split("/")):
        return "dot-segments, which a server may resolve or refuse itself (RFC 3986 §5.2.4)"
    names = [name.lower() for name, _ in pairs]
    for name in SINGLETONS:
        if names.count(name) > 1:
            return f"two {name} fields (RFC 9110 §5.3)"
    lengths = [value for name, value in pairs if name.lower() == "content-length"]
    if lengths:
        value = lengths[0].strip()
        if not (value.isascii() and value.isdigit()):
            return "an invalid Content-Length (RFC 9112 §6.3)"
        if int(value) > len(body):
            return INCOMPLETE
        if int(value) < len(body):
            return "bytes past the Content-Length, read as a next request a server may refuse"
    return None


def differences(want: Result, got: Result, method: str) -> Optional[str]:
    """How the live answer ``got`` differs from the in-process ``want``, or ``None``."""
    if got.status != want.status:
        return f"status {want.status} in process, {got.status} live\n{got.body[:500]!r}"
    if got.body != want.body:
        return f"body differs\n{want.body[:500]!r}\n{got.body[:500]!r}"
    expected, actual = app_headers(want), app_headers(got)
    cl = "content-length"
    if method == "HEAD" and expected.get(cl) == ["0"] and cl not in actual:
        del expected[cl]
    if want.status == 204 and cl not in expected and actual.get(cl) == ["0"]:
        del actual[cl]
    if actual != expected:
        return f"headers differ\n{want.headers}\n{got.headers}"
    return None


@dataclass
class Reference:
    history: list[tuple[str, Result]]
    error: Optional[AssertionError]


_REFERENCES: dict[tuple[str, str], Reference] = {}


class Prefixed(Client):
    """Sends a bare scenario's targets under ``prefix`` through ``inner``."""

    def __init__(self, inner: Client, prefix: str, *, root_without_slash: bool = False) -> None:
        super().__init__(root=inner.root, clock=inner.clock)
        self.inner = inner
        self.prefix = prefix
        self.root_without_slash = root_without_slash

    def sent(self, target: str) -> str:
        """``target`` under the prefix; the root as the prefix alone where the server
        hands no path ending in ``/`` to a script (``/s`` and ``/s/`` are the same
        request to minilink, ADAPTER-EDGES 2)."""
        if self.root_without_slash and self.prefix and target.split("?", 1)[0] == "/":
            return self.prefix + target[1:]
        return self.prefix + target

    def request(self, method: str, target: str, **kwargs: Any) -> Result:
        result = self.inner.request(method, self.sent(target), **kwargs)
        self.body_read = self.inner.body_read
        self.history.append((f"{method} {target}", result))
        return result

    def close(self) -> None:
        self.inner.close()


class Lockstep(Prefixed):
    """The live side of one scenario: requests go to the server, in step with the
    in-process ``reference``; a request ``may_refuse`` names that the server answered
    itself is recorded in ``refused`` and answered with the in-process result."""

    def __init__(
        self,
        inner: Client,
        prefix: str,
        reference: list[tuple[str, Result]],
        *,
        root_without_slash: bool = False,
    ) -> None:
        super().__init__(inner, prefix, root_without_slash=root_without_slash)
        self.reference = reference
        self.refused: list[tuple[str, str, Union[Result, str]]] = []

    def request(self, method: str, target: str, **kwargs: Any) -> Result:
        index = len(self.history)
        request = f"{method} {target}"
        expected: Optional[Result] = None
        if index < len(self.reference) and self.reference[index][0] == request:
            expected = self.reference[index][1]
        reason = may_refuse(method, target, kwargs.get("headers"), kwargs.get("body", b""))
        live: Union[Result, str]
        try:
            live = self.inner.request(method, self.sent(target), **kwargs)
        except (http.client.HTTPException, ConnectionError) as exc:
            if reason is None or expected is None:
                raise
            live = f"the server closed the connection ({type(exc).__name__})"
        if reason is not None and expected is not None:
            if isinstance(live, Result) and differences(expected, live, method):
                # mod_wsgi answers an incomplete body with its own 500 ("Request data
                # read error when proxying data to daemon process").
                top = 600 if reason == INCOMPLETE else 500
                assert 400 <= live.status < top, (
                    f"{request} ({reason}): the server answered {live.status}\n{live.body[:300]!r}"
                )
                self.refused.append((request, reason, live))
                live = expected
            elif isinstance(live, str):
                self.refused.append((request, reason, live))
                live = expected
        assert isinstance(live, Result)
        self.body_read = self.inner.body_read
        self.history.append((request, live))
        return live


def _env(scenario: Scenario) -> dict[str, str]:
    return {**BASE_ENV, **scenario.env}


def _run(scenario: Scenario, client: Client) -> Optional[AssertionError]:
    try:
        scenario.fn(client)
    except AssertionError as exc:
        return exc
    return None


def reference(scenario: Scenario, mount: str, tmp: Path) -> Reference:
    """The in-process transcript (WSGI adapter) of ``scenario`` at ``mount``; cached."""
    key = (scenario.id, mount)
    if key not in _REFERENCES:
        root = scenario.root or mount
        clients = make_clients(tmp, _env(scenario), root=root, wrap_store=scenario.wrap_store)
        try:
            client: Client = clients["wsgi"]
            if mount and not scenario.root:
                client = Prefixed(client, mount)
            error = _run(scenario, client)
            _REFERENCES[key] = Reference(list(client.history), error)
        finally:
            for each in clients.values():
                each.close()
    return _REFERENCES[key]


def live_client(live: live_servers.Live, scenario: Scenario, want: Reference) -> Lockstep:
    env = {**_env(scenario), "MINILINK_STORE": live.next_store()}
    if scenario.wrap_store is not None:
        wrap = scenario.wrap_store
        env[WRAP_VAR] = f"{wrap.__module__}:{wrap.__qualname__}"
    root = scenario.root or live.mount
    base_url = live.base_url
    without_slash = live.kind in live_servers.ROOT_WITHOUT_SLASH
    if without_slash:
        # HTTPClient sends the mount root as "<mount>/"; with no root of its own it
        # sends the targets ``Lockstep.sent`` makes as they are.
        base_url, http_root = base_url[: len(base_url) - len(live.mount)], ""
    else:
        http_root = root
    http = HTTPClient(
        base_url, root=http_root, clock=FakeClock(), state=live.state, env=env, timeout=10
    )
    prefix = live.mount if live.mount and not scenario.root else ""
    client = Lockstep(http, prefix, want.history, root_without_slash=without_slash)
    client.root = root
    return client


def assert_equivalent(
    live: live_servers.Live,
    want: list[tuple[str, Result]],
    got: list[tuple[str, Result]],
    *,
    prefix_only: bool = False,
) -> None:
    where = f"{live.kind} at {live.mount or '/'}"
    for (request, expected), (sent, actual) in zip(want, got):
        assert sent == request, f"[{where}] sent {sent}, in process {request}"
        problem = differences(expected, actual, request.split(" ", 1)[0])
        assert problem is None, f"[{where}] {request}: {problem}"
    assert prefix_only or len(got) == len(want), (
        f"[{where}] {len(got)} requests live, {len(want)} in process"
    )


def _config_id(kind: str, mount: str) -> str:
    return kind + ("-under" + mount.replace("/", "-").replace(".", "-") if mount else "-bare")


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest) -> Iterator[live_servers.Live]:
    kind, mount = request.param
    server = live_servers.start(kind, mount)
    try:
        yield server
    finally:
        server.stop()


# Every scenario through every configuration; a scenario written for the /s mount
# needs a server mounted there.
def _marks(kind: str, scenario: Scenario) -> list[Any]:
    marks: list[Any] = []
    if (kind, scenario.id) in KNOWN:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[kind, scenario.id]))
    if (kind, scenario.id) in CANNOT:
        marks.append(pytest.mark.skip(reason=CANNOT[kind, scenario.id]))
    if kind in SUBSET_KINDS:
        marks.append(pytest.mark.slow)
    return marks


CASES = [
    pytest.param((kind, mount), s, id=f"{_config_id(kind, mount)}:{s.id}", marks=_marks(kind, s))
    for kind, mount in CONFIGS
    for s in SCENARIOS
    if s.id not in EXCLUDED
    and s.root in ("", mount)
    and (kind not in SUBSET_KINDS or s.id in SUBSET)
]


@pytest.mark.parametrize(("live", "scenario"), CASES, indirect=["live"], scope="module")
def test_same_answer_as_in_process(
    live: live_servers.Live, scenario: Scenario, tmp_path: Path
) -> None:
    want = reference(scenario, live.mount, tmp_path)
    client = live_client(live, scenario, want)
    try:
        error = _run(scenario, client)
    finally:
        client.close()
    live.record(scenario.id, client.history, client.refused)
    where = f"[{live.kind} at {live.mount or '/'}]"
    if error is not None and want.error is None:
        # Show the first differing answer rather than the expectation it broke.
        assert_equivalent(live, want.history, client.history, prefix_only=True)
        raise AssertionError(f"{where} {error}") from error
    assert_equivalent(live, want.history, client.history)
    if want.error is not None:
        assert live.mount and not scenario.root, f"in process: {want.error}"
        assert error is not None, f"{where} passed where in process it failed: {want.error}"
    if not scenario.allow_5xx:
        for request, result in client.history:
            assert result.status < 500, f"{where} {request} -> {result.status}"


def test_excluded_scenarios_exist() -> None:
    """An exclusion names a scenario that exists (so a rename cannot hide one)."""
    assert set(EXCLUDED) <= {s.id for s in SCENARIOS}


@pytest.mark.parametrize(
    ("method", "target", "headers", "body", "refusable"),
    [
        ("GET", "/abc", None, b"", False),
        ("GET", "/café", None, b"", True),
        ("GET", "/x/../abc", None, b"", True),
        ("GET", "//abc", None, b"", False),
        ("POST", "/", {"Content-Length": "abc"}, b"x", True),
        ("POST", "/", {"Content-Length": "5"}, b"x", True),
        ("POST", "/", {"Content-Length": "0"}, b"x", True),
        ("POST", "/", {"Content-Length": "1"}, b"x", False),
        ("POST", "/", [("Content-Type", "a"), ("Content-Type", "a")], b"", True),
        ("GET", "/", [("Accept", "a"), ("Accept", "b")], b"", False),
    ],
)
def test_may_refuse_names_only_invalid_requests(
    method: str, target: str, headers: Any, body: bytes, refusable: bool
) -> None:
    assert (may_refuse(method, target, headers, body) is not None) == refusable
