"""Fixtures shared by every test directory, and the rule of what is ``slow``.

``python -m pytest -m "not slow"`` is the quick loop; the full suite (CI) runs
everything. A test is ``slow`` when it starts real servers, a browser, a subprocess
(per request, or a whole pytest or pip run), damages a real disk, or runs a long
fuzz, property, soak or PostgreSQL load. It is marked either in its own file
(``pytestmark = pytest.mark.slow`` or ``@pytest.mark.slow``, and ``helpers.CGI_RUNS``
for the subprocess CGI run of the behavioural scenarios) or, for files and tests
named here, by ``SLOW`` below.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from minilink.testing.clients import Client, make_clients

#: Node-id prefixes marked ``slow`` (a folder ending in "/", a module, or a test with
#: all its parameters), each with why.
SLOW: dict[str, str] = {
    "tests/servers/test_live.py": "every scenario through every real server",
    "tests/servers/test_legacy_hosts.py": "Apache mod_fcgid and Passenger",
    "tests/browser/": "Chromium",
    "tests/scale/": "several servers on PostgreSQL",
    "tests/fuzz/test_differential_fuzz.py": "thousands of hypothesis examples",
    "tests/properties/": "hundreds of hypothesis examples per property",
    "tests/api/test_openapi_schemathesis.py": "schemathesis runs over the whole API",
    "tests/reliability/test_fuzz.py": "the fuzz target, in a subprocess, for a set time",
    "tests/reliability/test_faults.py": "tmpfs mounts, read-only disks, CGI processes",
    "tests/reliability/test_abuse.py::test_rate_limit_per_client_behind_a_trusted_proxy": (
        "gunicorn"
    ),
    "tests/reliability/test_abuse.py::test_rate_limit_ignores_forwarding_from_untrusted_peers": (
        "gunicorn"
    ),
    "tests/reliability/test_abuse.py::test_rate_limit_across_cgi_processes": "CGI processes",
    "tests/reliability/test_abuse.py::test_form_refuses_cross_site_posts_in_chromium": ("Chromium"),
    "tests/examples/test_embed_testing.py": "pytest in a subprocess",
    "tests/examples/test_examples.py::test_server_command": "each server's command",
    "tests/examples/test_examples.py::test_embed_starlette": "uvicorn",
    "tests/examples/test_examples.py::test_cgi_script_with_htaccess_at_the_site_root": "Apache",
    (
        "tests/examples/test_examples.py::"
        "test_generated_cgi_script_under_apache_with_the_system_python"
    ): "Apache",
    "tests/examples/test_examples.py::test_mod_wsgi_example": "Apache",
    "tests/test_cli.py::test_serve": "each server",
    "tests/test_cli.py::test_round_trip": "the CLI as a process, twice over",
    "tests/test_transfer.py::test_export_and_import_memory_stays_flat": "a memory soak",
    "tests/storage/test_third_party.py": "pip install and pytest in subprocesses",
    "tests/storage/test_buffered.py::test_an_orderly_shutdown_loses_no_hit": (
        "every server, each stopped by SIGTERM"
    ),
    "tests/storage/test_postgres.py::TestPostgresStore::test_matches_a_dict_model": (
        "a long state machine on PostgreSQL"
    ),
    (
        "tests/storage/test_postgres.py::TestPostgresStore::"
        "test_threads_hitting_count_every_hit_once"
    ): "PostgreSQL load",
    "tests/storage/test_postgres.py::test_hits_from_many_threads_on_one_code_are_exact": (
        "PostgreSQL load"
    ),
    "tests/storage/test_buffered.py::TestBufferedContract::test_matches_a_dict_model": (
        "a long state machine"
    ),
    "tests/storage/test_sqlite.py::test_processes_racing_on_codes_insert_each_once": "processes",
    "tests/storage/test_sqlite.py::test_processes_hitting_count_every_hit_once": "processes",
    "tests/storage/test_sqlite.py::test_a_killed_writer_loses_no_acknowledged_write": "a process",
    "tests/storage/test_sqlite.py::test_processes_opening_a_fresh_file_migrate_it_once": (
        "processes"
    ),
    (
        "tests/storage/test_upgrades.py::"
        "test_a_postgres_database_of_an_earlier_version_opens_losslessly"
    ): "pg_restore",
    (
        "tests/storage/test_postgres.py::"
        "test_a_slow_query_does_not_delay_other_requests_through_asgi"
    ): "a second of pg_sleep",
    "tests/testing/test_plugin.py::test_plugin_loads_from_its_entry_point": (
        "pytest in a subprocess"
    ),
}

#: Parameters whose values run a test in a subprocess, by module: module -> (name, values).
SLOW_PARAMS: dict[str, tuple[str, frozenset[str]]] = {
    "tests/test_cli.py": ("run", frozenset({"module", "script"})),  # the CLI as a process
}


def _named(nodeid: str, prefix: str) -> bool:
    if prefix.endswith("/"):
        return nodeid.startswith(prefix)
    return nodeid == prefix or nodeid.startswith((prefix + "::", prefix + "["))


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for prefix in SLOW:
        if not (config.rootpath / prefix.split("::")[0]).exists():
            raise pytest.UsageError(f"tests/conftest.py SLOW names a missing file: {prefix}")
    for item in items:
        module = item.nodeid.split("::")[0]
        params = getattr(getattr(item, "callspec", None), "params", {})
        name, values = SLOW_PARAMS.get(module, ("", frozenset()))
        if any(_named(item.nodeid, prefix) for prefix in SLOW) or params.get(name) in values:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[Callable[..., dict[str, Client]]]:
    """Factory: ``clients(env, root="")`` gives one client per adapter; all are closed
    at teardown."""
    made: list[Client] = []

    def factory(env: dict[str, str], **kwargs: object) -> dict[str, Client]:
        folder = tmp_path / f"set{len(made)}"
        folder.mkdir()
        result = make_clients(folder, env, **kwargs)  # type: ignore[arg-type]
        made.extend(result.values())
        return result

    yield factory
    for client in made:
        client.close()
