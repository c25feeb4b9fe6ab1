"""The FastCGI entry point: what it tells apart, and a responder process driven by hand.

A process is started as mod_fcgid starts one (a listening Unix socket as descriptor 0)
and spoken to with FastCGI records written here (spec §3, §5), every request also
sent one byte per ``send`` so records arrive split at every byte; it is stopped with
SIGTERM as mod_fcgid stops it, in the middle of a request too.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from minilink.adapters.fastcgi import is_fastcgi

pytest.importorskip("flup")

REPO = Path(__file__).resolve().parents[2]
BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def record(kind: int, content: bytes, request_id: int = 1) -> bytes:
    padding = -len(content) % 8
    header = struct.pack("!BBHHBB", 1, kind, request_id, len(content), padding, 0)
    return header + content + b"\0" * padding


def pairs(params: dict[str, str]) -> bytes:
    out = b""
    for name, value in params.items():
        for part in (name.encode("latin-1"), value.encode("latin-1")):
            n = len(part)
            out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
        out += name.encode("latin-1") + value.encode("latin-1")
    return out


def fcgi_request(method: str, path: str, body: bytes = b"", **extra: str) -> bytes:
    params = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        **extra,
    }
    if body:
        params["CONTENT_LENGTH"] = str(len(body))
        params["CONTENT_TYPE"] = "application/json"
    out = record(BEGIN, struct.pack("!HB5x", 1, 0))
    out += record(PARAMS, pairs(params)) + record(PARAMS, b"")
    if body:
        out += record(STDIN, body)
    return out + record(STDIN, b"")


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    sock.settimeout(10)
    for _ in range(10_000):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    stdout, ended = b"", False
    while data:
        _, kind, _, length, padding, _ = struct.unpack("!BBHHBB", data[:8])
        if kind == STDOUT:
            stdout += data[8 : 8 + length]
        ended = ended or kind == END
        data = data[8 + length + padding :]
    assert ended, "no FCGI_END_REQUEST"
    head, _, body = stdout.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n"))
    return int(headers.pop("Status").split()[0]), headers, body


class Responder:
    """A process serving FastCGI on a listening socket given as its descriptor 0."""

    def __init__(self, tmp: Path, command: list[str]) -> None:
        self.path = str(tmp / "fcgi.sock")
        self.store = tmp / "links.db"
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(self.path)
        listener.listen(5)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MINILINK_")}
        env.update(
            MINILINK_STORE=str(self.store),
            MINILINK_HIT_FLUSH_SECONDS="60",  # only the stop writes the hits
            PYTHONPATH=str(REPO),
        )
        self.proc = subprocess.Popen(command, stdin=listener, env=env, stderr=subprocess.PIPE)
        listener.close()

    def send(self, message: bytes, *, bytewise: bool = False) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(self.path)
        if bytewise:
            for i in range(len(message)):
                sock.send(message[i : i + 1])
        else:
            sock.sendall(message)
        return sock

    def ask(self, message: bytes, *, bytewise: bool = False) -> tuple[int, dict[str, str], bytes]:
        sock = self.send(message, bytewise=bytewise)
        try:
            return read_answer(sock)
        finally:
            sock.close()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)

    def hits(self, code: str) -> int:
        with closing(sqlite3.connect(str(self.store))) as db:
            (hits,) = db.execute("SELECT hits FROM links WHERE code = ?", (code,)).fetchone()
        return int(hits)


RUN = [sys.executable, "-c", "from minilink.adapters.fastcgi import run; run()"]


@pytest.fixture
def responder(tmp_path: Path) -> Iterator[Responder]:
    served = Responder(tmp_path, RUN)
    try:
        yield served
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
        served.proc.wait(timeout=10)
        assert served.proc.stderr is not None
        served.proc.stderr.close()


def create(responder: Responder, *, bytewise: bool = False) -> str:
    import json

    body = b'{"url": "https://example.com/x"}'
    status, _, answer = responder.ask(fcgi_request("POST", "/api/links", body), bytewise=bytewise)
    assert status == 201, answer
    return str(json.loads(answer)["code"])


def test_pipe_and_connected_socket_are_cgi_listening_socket_is_fastcgi(tmp_path: Path) -> None:
    r, w = os.pipe()
    a, b = socket.socketpair()
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "s"))
    listener.listen(1)
    try:
        assert not is_fastcgi(r)
        assert not is_fastcgi(a.fileno())  # mod_cgid's CGI request on a socket
        assert is_fastcgi(listener.fileno())
        os.close(w)
        os.close(r)
        assert not is_fastcgi(r)  # closed
    finally:
        a.close()
        b.close()
        listener.close()


def test_serves_requests_split_at_every_byte_and_flushes_hits_at_sigterm(
    responder: Responder,
) -> None:
    code = create(responder, bytewise=True)
    for bytewise in (False, True, False):
        status, headers, body = responder.ask(fcgi_request("GET", "/" + code), bytewise=bytewise)
        assert (status, headers["Location"], body) == (302, "https://example.com/x", b"")
    status, headers, body = responder.ask(fcgi_request("HEAD", "/" + code))
    assert (status, body) == (302, b"")
    assert responder.hits(code) == 0  # batched in memory
    assert responder.stop() == 0
    assert responder.hits(code) == 3  # the GETs: a HEAD counts no visit


def test_a_request_in_flight_at_sigterm_is_answered_and_counted(responder: Responder) -> None:
    code = create(responder)
    message = fcgi_request("GET", "/" + code)
    # Connected with the parameters half sent: being read, or still waiting to be
    # accepted; either way it is answered before the process ends.
    sock = responder.send(message[:20])
    try:
        responder.proc.send_signal(signal.SIGTERM)
        sock.sendall(message[20:])
        status, _, _ = read_answer(sock)
    finally:
        sock.close()
    assert status == 302
    assert responder.proc.wait(timeout=10) == 0
    assert responder.hits(code) == 1


def test_sigkill_loses_no_acknowledged_create(responder: Responder) -> None:
    code = create(responder)
    responder.proc.kill()
    responder.proc.wait(timeout=10)
    assert responder.hits(code) == 0  # the link is there; only unflushed hits are lost


def test_an_unknown_role_is_refused_and_the_process_serves_on(responder: Responder) -> None:
    authorizer = record(BEGIN, struct.pack("!HB5x", 2, 0)) + record(PARAMS, b"")
    sock = responder.send(authorizer)
    try:
        sock.settimeout(10)
        reply = b""
        for _ in range(100):  # FCGI_END_REQUEST: 16 bytes, in as many reads as it takes
            chunk = sock.recv(64)
            reply += chunk
            if not chunk or len(reply) >= 16:
                break
    finally:
        sock.close()
    assert reply[1] == END and reply[8 + 4] == 3  # FCGI_UNKNOWN_ROLE
    assert responder.ask(fcgi_request("GET", "/healthz"))[0] == 200


def test_without_a_listening_socket_it_answers_one_cgi_request(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINILINK_")}
    env.update(
        MINILINK_STORE=str(tmp_path / "links.db"),
        PYTHONPATH=str(REPO),
        REQUEST_METHOD="GET",
        PATH_INFO="/healthz",
        SCRIPT_NAME="",
        SERVER_NAME="testserver",
        SERVER_PORT="80",
        SERVER_PROTOCOL="HTTP/1.1",
    )
    out = subprocess.run(RUN, input=b"", env=env, capture_output=True, timeout=30, check=True)
    assert out.stdout.startswith(b"Status: 200 OK\r\n"), out.stdout[:200]


def test_telling_cgi_apart_costs_a_cgi_request_no_import() -> None:
    """Under CGI (a pipe as standard input) the check is one fstat: no socket module."""
    probe = (
        "import sys; from minilink.adapters.fastcgi import is_fastcgi; "
        "assert not is_fastcgi(); print(sorted({'socket', 'errno', 'flup'} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-IS", "-c", f"import sys; sys.path.insert(0, {str(REPO)!r}); {probe}"],
        input=b"",
        env=env,
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == b"[]", out.stdout
