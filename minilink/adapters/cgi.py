"""The CGI adapter (RFC 3875): one request from the environment and stdin to stdout.

Run as ``python -m minilink.adapters.cgi`` or call ``main()`` from a script.

Rules:

* Start-up is the cost of every CGI request, so this module imports only ``os`` and
  ``sys``; the core is imported inside ``main``.
* The environment is read as bytes (``os.environb``) and decoded as latin-1, exactly
  as PEP 3333 hands it to WSGI, so a non-UTF-8 ``PATH_INFO`` or header reaches the core
  the same way through both adapters (the translation itself is shared, in
  ``_environ``). ``HTTPS=on`` (or ``ON``, ``1``) means the scheme is https.
* stdin is read for exactly ``App.body_size(headers)`` bytes, never past
  ``CONTENT_LENGTH`` (RFC 3875 §4.2: the server need not close stdin); a declared body
  the app did not read (an over-limit one) is then read and dropped, up to 1 MiB,
  before the answer, as fcgiwrap turns a script that leaves it unread into a 502
  (``_drain``).
* The answer is ``Status: <code> <reason>``, the core's headers unchanged, a blank line
  and the body (a streamed download: piece by piece), written as bytes to stdout.
  Always sending ``Status`` matters: a
  ``Location`` without it is a *local* redirect for Apache (RFC 3875 §6.2.2).
* A configuration the app cannot start with (a bad ``MINILINK_*`` value, a store that
  cannot be opened) is answered with a fixed plain-text 500, and the one sentence
  that says why goes to stderr, the server's error log (it may name files or a
  database URL, which are no business of a client); never a traceback. A SQLite file
  whose folder is missing is, for CGI, a store that is unavailable for now: every
  request is a new process, so each answers 503 and logs which folder is missing, and
  the first request after the folder appears works (servers, which start once, refuse
  to start instead).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: a CGI request pays for every import
    from collections.abc import Mapping
    from typing import BinaryIO, NoReturn, Optional, Union

    from minilink.core.app import App
    from minilink.core.http import Response

__all__ = ["main", "run"]

_CANNOT_START = "minilink cannot start: the reason is in the server's error log.\n"


def main(
    app: Optional[App] = None,
    *,
    environ: Optional[Union[Mapping[bytes, bytes], Mapping[str, str]]] = None,
    stdin: Optional[BinaryIO] = None,
    stdout: Optional[BinaryIO] = None,
    close: bool = True,
) -> int:
    """Serve one CGI request; return the process exit status (0, or 1 for a bad setup).

    ``app`` defaults to one built from ``MINILINK_*`` in ``environ`` (default: the
    process environment) and closed before returning, unless ``close`` is false (see
    ``run``); a given ``app`` is left open.
    """
    from minilink.adapters._environ import request_from_environ

    raw = _environ_bytes(environ)
    out = stdout if stdout is not None else sys.stdout.buffer
    owned = app is None
    if app is None:
        try:
            app = _build_app({os.fsdecode(k): os.fsdecode(v) for k, v in raw.items()})
        except ValueError as exc:  # _build_app turns store failures into ValueError
            print(f"minilink cannot start: {exc}", file=sys.stderr)
            from minilink.core.http import text_response

            # The reason may name files or a database URL: the log gets it, not the client.
            _write(out, text_response(500, _CANNOT_START))
            return 1
    try:
        # PEP 3333's convention: each byte of the value as one latin-1 character.
        text = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw.items()}
        https = text.get("HTTPS", "").lower() in ("on", "1")
        stream = stdin if stdin is not None else sys.stdin.buffer
        request = request_from_environ(
            text, stream, app.body_size, scheme="https" if https else "http"
        )
        response = app.handle(request)
        if stdin is None:  # a stream the caller passed is the caller's to finish
            _drain(stream, raw.get(b"CONTENT_LENGTH", b""), len(request.body))
        _write(out, response)
    finally:
        if owned and close:
            app.close()
    return 0


def run() -> NoReturn:
    """Serve this process's one request and end the process: what
    ``python -m minilink.adapters.cgi`` and a generated CGI script call.

    The answer is flushed and every write committed before the process ends; what is
    skipped is the interpreter's teardown, and with it closing the SQLite
    connection. Closing the last connection checkpoints the WAL into the database
    with an fsync, which would cost every request about 10 ms; left open, the WAL
    serves the next process, and SQLite checkpoints it when it outgrows its limit.
    """
    status = main(close=False)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _environ_bytes(
    environ: Optional[Union[Mapping[bytes, bytes], Mapping[str, str]]],
) -> dict[bytes, bytes]:
    if environ is None:
        environb = getattr(os, "environb", None)  # absent on Windows
        if environb is not None:
            return dict(environb)
        environ = os.environ
    # Text values are encoded back the way os.environb would hold them.
    return {
        os.fsencode(k): v if isinstance(v, bytes) else os.fsencode(v) for k, v in environ.items()
    }


def _build_app(environ: Mapping[str, str]) -> App:
    from minilink._build import build_app
    from minilink.core.config import Config
    from minilink.core.errors import StoreUnavailable

    config = Config.from_env(environ)
    try:
        # One request per process: no write-behind buffer, the hit is written at once.
        return build_app(config, persistent=False)
    except StoreUnavailable as exc:
        raise ValueError(f"the store cannot be opened ({exc})") from exc


#: The most of an unread body ``_drain`` reads: nginx's default ``client_max_body_size``,
#: so that behind a default nginx every body that reaches the script can be drained.
_DRAIN_LIMIT = 1 << 20


def _drain(stream: BinaryIO, declared: bytes, read: int) -> None:
    """Read and drop the part of a declared body of at most ``_DRAIN_LIMIT`` bytes that
    the app did not read (an over-limit body is answered 413 without being read).

    fcgiwrap writes the whole body to the script's stdin before it reads the answer, and
    a script that exits with the body unread breaks that write: fcgiwrap then sends its
    own 502 instead of the 413 (a body larger than the pipe's buffer, 64 KiB, is enough).
    Only what ``CONTENT_LENGTH`` declares is read (RFC 3875 §4.2), in 64 KiB pieces; a
    larger body is left alone, as reading part of it would not help and would keep the
    process busy for nothing.
    """
    if not declared.isdigit() or len(declared) > 7:  # 8 digits: over the limit anyway
        return
    left = int(declared) - read
    if left > _DRAIN_LIMIT:
        return
    while left > 0:  # each read returns at least a byte, or the end of the stream
        chunk = stream.read(min(left, 1 << 16))
        if not chunk:
            break
        left -= len(chunk)


def _write(out: BinaryIO, response: Response) -> None:
    lines = [f"Status: {response.status_line}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in response.headers)
    lines.append("\r\n")
    out.write("".join(lines).encode("latin-1") + response.body)
    if response.stream is not None:  # a download, piece by piece
        for piece in response.stream:
            out.write(piece)
    out.flush()


if __name__ == "__main__":
    run()
