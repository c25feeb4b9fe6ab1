"""The Shlink dialect driven by the Shlink JS SDK (``@shlinkio/shlink-js-sdk``, run by
Node.js), through a WSGI, an ASGI and a CGI server.

The SDK is installed from the committed lock file by ``.ci/setup.d/40-node-sdk.sh``
into ``.ci/node/shlink-sdk``; ``js/sdk-check.mjs`` creates, lists, searches, reads,
edits and deletes short URLs, reads the tags and their stats, the visits and the
health, and checks the errors the SDK reports (``ErrorType``), asserting every answer
itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import live_servers
import pytest
from dialect_helpers import API_KEY

REPO = Path(__file__).resolve().parents[2]
SDK = REPO / ".ci" / "node" / "shlink-sdk"
SCRIPT = Path(__file__).with_name("js") / "sdk-check.mjs"
SERVERS = ["gunicorn-sync", "uvicorn", "lighttpd-cgi"]
#: Real servers and their start-up: a few seconds in all.
pytestmark = pytest.mark.slow


def _require_sdk() -> str:
    node = shutil.which("node")
    if node is None or not (SDK / "node_modules" / "@shlinkio" / "shlink-js-sdk").is_dir():
        reason = "the Shlink JS SDK is not installed (bash .ci/setup.d/40-node-sdk.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return node


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[live_servers.Live]:
    _require_sdk()
    live = live_servers.start(request.param)
    try:
        yield live
    finally:
        live.stop()


def test_shlink_sdk(server: live_servers.Live) -> None:
    node = _require_sdk()
    live_servers.write_state(
        server.state,
        {
            "MINILINK_STORE": server.next_store(),
            "MINILINK_SHLINK_API_KEYS": f"another-key,{API_KEY}",
            "MINILINK_RATE_LIMIT": "0",
            "MINILINK_HIT_FLUSH_SECONDS": "0",
        },
    )
    done = subprocess.run(
        [node, str(SCRIPT), str(SDK), server.base_url, API_KEY],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout + server.log_tail()
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["ok"] is True
    assert len(seen["codes"]) == 1
    # The NodeHttpClient's chunked body: read whole by the CGI server, refused clearly
    # by minilink where the body reaches it still chunked.
    assert seen["chunked"] == ("accepted" if server.kind.endswith("cgi") else "refused")
