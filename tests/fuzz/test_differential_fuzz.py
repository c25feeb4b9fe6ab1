"""Differential fuzzing of the adapters: one raw request, three adapters, one answer.

Theory of operation
-------------------
Each example builds three fresh apps (WSGI, ASGI and CGI adapters, in process) with
the same configuration, seed and clock, gives each the same five links (a plain one,
aliases, one expiring, one allowed one visit, one deleted), then sends the same
sequence of ``raw_requests()`` through all three, moving the clocks alike between
requests. For every request:

* no adapter answers 5xx;
* a 4xx leaves the store as it was: every link (URL, hits, expiry, tombstone) and
  every per-day counter (the rate-limit windows count attempts and may move);
* the three answers are identical: status, headers in order, and body;
* a GET is first sent as HEAD, which changes nothing and answers with the GET's
  status and headers and no body;
* while the ``locked`` link is protected, no answer to a request without the admin
  token shows its target, in a header or the body (the password is one no request
  can know).

The CGI adapter runs as ``minilink.adapters.cgi.main(app, environ=..., stdin=...,
stdout=...)`` in process (``InProcessCGIClient``): the real adapter code, at a
thousandth of a subprocess's cost; ``tests/adapters`` runs it as a real process. WSGI
goes through ``wsgiref.validate``, ASGI through ``asyncio`` with a scope as uvicorn
builds it (``path_includes_root`` drawn both ways; see the test for the one case
that leaves out).

Profiles (``MINILINK_FUZZ_PROFILE``): ``ci`` (the default) runs 2,000 examples, in
about a minute and a half; the nightly run, ``MINILINK_FUZZ_PROFILE=nightly python -m
pytest tests/fuzz``, runs 20,000. A failure prints the request sequence and a
``@reproduce_failure`` blob.
"""

from __future__ import annotations

import os
from dataclasses import replace
from urllib.parse import unquote_to_bytes

from fuzz_harness import ADMIN, CODES, MAX_BODY, SECRET, snapshot, three_adapters
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from minilink.storage.memory import MemoryStore
from minilink.testing.clients import Result
from minilink.testing.strategies import RawRequest, raw_requests

_COMMON = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("minilink-fuzz-ci", max_examples=2000, **_COMMON)
settings.register_profile("minilink-fuzz-nightly", max_examples=20_000, **_COMMON)
PROFILE = os.environ.get("MINILINK_FUZZ_PROFILE", "ci")


def _starts_with(target: bytes, root: str) -> bool:
    path = unquote_to_bytes(target.partition(b"?")[0])
    prefix = root.encode("utf-8")
    return path == prefix or path.startswith(prefix + b"/")


_HIDDEN = SECRET.split("//")[1].split("/")[0].encode()  # the host: secret.example


def _hides_the_secret(request: RawRequest, store: MemoryStore) -> bool:
    """Whether an answer to ``request`` must not show ``SECRET``: the request is not
    the admin's, does not itself name the secret host, and ``locked`` is protected."""
    if any(ADMIN in value for _, value in request.headers):
        return False
    if _HIDDEN in request.target or _HIDDEN in request.body:
        return False
    locked = store.get("locked")
    return locked is not None and locked.password_hash is not None and locked.url == SECRET


def _shows(result: Result) -> bool:
    return _HIDDEN in result.body or any(_HIDDEN.decode() in value for _, value in result.headers)


def describe(steps: list[tuple[RawRequest, int]], upto: int) -> str:
    return "\n".join(f"  +{wait}s {request!r}" for request, wait in steps[: upto + 1])


@settings(settings.get_profile(f"minilink-fuzz-{PROFILE}"))
@given(
    root=st.sampled_from(["", "", "/s", "/caf\u00e9"]),
    path_includes_root=st.booleans(),
    steps=st.lists(
        st.tuples(
            raw_requests(codes=CODES, admin_token=ADMIN, max_body=MAX_BODY),
            st.sampled_from([0, 0, 0, 1, 59, 61, 86400]),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_adapters_answer_alike_and_never_fail(
    root: str, path_includes_root: bool, steps: list[tuple[RawRequest, int]]
) -> None:
    if root and not path_includes_root:
        # A server that leaves root_path out of path (older ones) makes "/s/s"
        # ambiguous: the adapter follows the current spec and strips the root from a
        # path that starts with it. Such a server is not sent such a path.
        assume(not any(_starts_with(r.target, root) for r, _ in steps))
    with three_adapters(root, path_includes_root) as adapters:
        for i, (request, wait) in enumerate(steps):
            answers: dict[str, Result] = {}
            for name, (client, store) in adapters.items():
                client.clock.advance(wait)
                before = snapshot(store)
                where = f"[{name}] after\n{describe(steps, i)}"
                head = (
                    replace(request, method="HEAD").send(client)
                    if request.method == "GET"
                    else None
                )
                if head is not None:
                    assert snapshot(store) == before, f"{where}\n-> HEAD changed the store"
                secret = _hides_the_secret(request, store)
                result = request.send(client)
                if secret and _hides_the_secret(request, store):
                    for answer in (result, head):
                        assert answer is None or not _shows(answer), (
                            f"{where}\n-> the protected target in {answer}"
                        )
                if head is not None:
                    # HEAD answers as GET, with no body (SPEC §4).
                    assert (head.status, head.headers, head.body) == (
                        result.status,
                        result.headers,
                        b"",
                    ), f"{where}\n-> HEAD {head.status} {head.headers} vs GET {result.status}"
                assert result.status < 500, f"{where}\n-> {result.status} {result.body[:300]!r}"
                if 400 <= result.status < 500:
                    assert snapshot(store) == before, (
                        f"{where}\n-> {result.status} changed the store"
                    )
                answers[name] = result
            reference = answers["wsgi"]
            for name, result in answers.items():
                assert (result.status, result.headers, result.body) == (
                    reference.status,
                    reference.headers,
                    reference.body,
                ), f"[wsgi vs {name}] after\n{describe(steps, i)}"
