"""``GET /api/openapi.json`` is kept true: schemathesis checks the app against it.

Schemathesis reads the document the app serves, generates requests for every
operation in it (valid ones and, for the negative checks, invalid ones), sends them
to the WSGI and the ASGI app in process, and runs every check it has on each answer:
no 5xx, status codes, content types, headers and bodies as documented, invalid data
refused, valid data accepted, ``Allow`` on 405, a deleted resource staying gone,
authentication enforced. Any failure is a bug in the app or in the document.

Admin calls carry the admin token, given to schemathesis as the bearer credential of
the document's security scheme (so it can also send them without it, or with a broken
one, and see them refused). The examples per operation are bounded so the whole file stays well
under a minute.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from minilink.adapters.asgi import create_app as create_asgi
from minilink.adapters.wsgi import create_app as create_wsgi
from minilink.core.app import App
from minilink.core.config import Config
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore

ADMIN = "schemathesis-admin-token"
EXAMPLES = 60
STATEFUL_EXAMPLES = 30

load_all_checks()
ALL_CHECKS = CHECKS.get_all()


def _app() -> App:
    # The memory store holds no file or connection, so nothing needs closing; the
    # rate limit is off so that creation is exercised, not its 429.
    config = Config(admin_token=ADMIN, rate_limit=0)
    return App(Shortener(MemoryStore(), config, randbelow=random.Random(7).randrange), config)


class FreshWSGI:
    """The WSGI adapter around an ``App`` that ``reset()`` replaces with a new one, so
    that every stateful scenario starts from an empty store."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.target = create_wsgi(app=_app())

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.target(environ, start_response)


class FreshASGI:
    """The same for the ASGI adapter."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.target = create_asgi(app=_app())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


wsgi_app = FreshWSGI()
asgi_app = FreshASGI()


# What JSON Schema cannot state, said to the one check that needs it: a code that
# fits the pattern may name a link that is gone (410, the SPEC's answer for deleted,
# expired and used-up links), and whether a URL is one minilink stores (a host every
# browser resolves alike, no user-info, not this shortener, not blocked) or whether
# expires_at is still ahead is not a schema fact either (the documented 400). An edit
# may also meet a link gone meanwhile (410) or an If-Match naming an older version
# (412). And the methods a code takes depend on its link (POST only where a password
# is set, so a 405 to any other lists GET and HEAD alone), which a path template
# cannot state: Allow is not compared with the document there. Every other check
# runs with its defaults.
CONFIG = schemathesis.Config.from_str(
    f"""
[auth.openapi.bearer]
bearer = "{ADMIN}"

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "410", "429"]

[[operations]]
include-name = "POST /api/links"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "409", "429"]

[[operations]]
include-name = "PATCH /api/links/{{code}}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404", "410", "412"]

[[operations]]
include-name = "POST /{{code}}"
checks.positive_data_acceptance.expected-statuses = [
    "3xx", "400", "403", "404", "405", "410", "429"
]
"""
)
wsgi_schema = schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_app, config=CONFIG)
asgi_schema = schemathesis.openapi.from_asgi("/api/openapi.json", asgi_app, config=CONFIG)
APPS = {"wsgi": (wsgi_schema, wsgi_app), "asgi": (asgi_schema, asgi_app)}

_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


#: ``/{code}``'s methods depend on the link (see CONFIG): Allow is not compared there.
LINK_DEPENDENT_CHECKS = {"allow_header_conformance"}


def _check(case: Any) -> None:
    checks = ALL_CHECKS
    if case.operation.path == "/{code}":
        checks = [check for check in checks if check.__name__ not in LINK_DEPENDENT_CHECKS]
    case.call_and_validate(checks=checks)


@wsgi_schema.parametrize()
@_SETTINGS
def test_wsgi_app_keeps_its_openapi_document(case: Any) -> None:
    _check(case)


@asgi_schema.parametrize()
@_SETTINGS
def test_asgi_app_keeps_its_openapi_document(case: Any) -> None:
    _check(case)


def test_every_check_is_run() -> None:
    names = {check.__name__ for check in ALL_CHECKS}
    assert {"not_a_server_error", "response_schema_conformance", "ignored_auth"} <= names
    assert len(names) >= 10


@pytest.mark.parametrize("schema", [wsgi_schema, asgi_schema], ids=["wsgi", "asgi"])
def test_every_operation_is_tested(schema: Any) -> None:
    """Every operation on links (the document itself is where schemathesis reads it)."""
    operations = {
        f"{result.ok().method.upper()} {result.ok().path}" for result in schema.get_all_operations()
    }
    assert operations >= {
        "POST /api/links",
        "GET /api/links",
        "GET /api/links/{code}",
        "DELETE /api/links/{code}",
        "GET /api/links/{code}/stats",
        "PATCH /api/links/{code}",
        "GET /api/tags",
        "POST /{code}",
    }


@pytest.mark.parametrize("name", sorted(APPS))
def test_sequences_of_calls_keep_the_document(name: str) -> None:
    """Create, then follow the document's links (show, stats, delete) and go on: every
    answer on the way is checked, a deleted link must stay gone. Each scenario starts
    from an empty store."""
    schema, app = APPS[name]

    class Scenario(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            app.reset()

    Scenario.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
