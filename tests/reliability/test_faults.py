"""Storage faults: a read-only file or disk, a full disk, a missing folder, a damaged file.

Each fault is made for real (a tmpfs mounted in the test's folder and remounted
read-only, ``chattr +i``, a 1 MiB tmpfs filled up, a folder that is not there, bytes
written over the file) and then the same requests go through a CGI process and
through a persistent WSGI app (the buffered store a server runs). For every one:

* the answer is a 503 with ``Retry-After`` and the fixed sentence (JSON or the HTML
  page), or a correct answer from what is still readable; never a 500, never a path,
  a SQLite message or a traceback;
* no create is answered 2xx unless its row is in the file;
* once the fault is gone, the very same processes and files work again: the store
  reconnects by itself.

Mounting and ``chattr`` need root (the CI runs as root). Where they are refused the
tests skip with the reason, except under CI, where they fail.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional

import pytest
from _reliability import ADMIN, Answer, Rows, cgi, record

from minilink import build_app
from minilink.core.config import Config
from minilink.core.service import Shortener
from minilink.storage.sqlite import SQLiteStore
from minilink.testing.clients import Result, WSGIClient

GENERIC = "The store is unavailable; try again shortly."
LEAKS = (b"sqlite", b"SQLite", b"database", b"Traceback", b"/tmp", b".db", b"SELECT", b"INSERT")


def need(command: list[str], why: str) -> None:
    """Run ``command``; skip (fail under CI) when the machine refuses it."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = f"{why}: {' '.join(command)} failed: {result.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI runs as root and must be able to)")
        pytest.skip(reason)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """``mount(size)``: a fresh tmpfs in the test's folder, unmounted at teardown."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        target = tmp_path / f"tmpfs{len(mounted)}"
        target.mkdir()
        need(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(target)],
            "a tmpfs is needed",
        )
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        if subprocess.run(["umount", str(target)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], check=False)


class Site:
    """One database file, served by a persistent WSGI app and by CGI processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        config = Config(store=str(path), admin_token=ADMIN, rate_limit=0)
        self.app = build_app(config, persistent=True)
        self.wsgi = WSGIClient(self.app)
        self.created: dict[str, str] = {}  # code -> url, every create answered 2xx
        self.answers = 0

    def close(self) -> None:
        self.app.close()

    def restart(self) -> None:
        """A new persistent app on the same file (the old one closed): a file opened
        for writing would keep its write access through the fault."""
        self.app.close()
        config = self.app.config
        self.app = build_app(config, persistent=True)
        self.wsgi = WSGIClient(self.app)

    def create(self, via: str, url: str) -> Answer:
        body = json.dumps({"url": url}).encode()
        if via == "cgi":
            answer, _ = cgi(
                str(self.path), "POST", "/api/links", body=body, content_type="application/json"
            )
        else:
            answer = _answer(
                self.wsgi.request(
                    "POST", "/api/links", headers={"Content-Type": "application/json"}, body=body
                )
            )
        self.answers += 1
        if answer.status in (200, 201):
            self.created[answer.json()["code"]] = url
        return answer

    def get(self, via: str, target: str) -> Answer:
        self.answers += 1
        if via == "cgi":
            return cgi(str(self.path), "GET", target)[0]
        return _answer(self.wsgi.get(target))

    def form(self, via: str) -> Answer:
        body = b"url=https%3A%2F%2Fexample.com%2Fform-" + via.encode()
        kind = "application/x-www-form-urlencoded"
        self.answers += 1
        if via == "cgi":
            return cgi(str(self.path), "POST", "/", body=body, content_type=kind)[0]
        return _answer(self.wsgi.request("POST", "/", headers={"Content-Type": kind}, body=body))

    def assert_refused(self, via: str, *, reads: Optional[bool]) -> None:
        """Creates are refused with a clean 503. ``reads``: whether the store can
        still be read (``/healthz`` 200 and lookups answered), cannot (``/healthz``
        503), or ``None`` when either may happen. A lookup is always either correct
        (from the file, or from the persistent app's cache) or a clean 503."""
        made = self.create(via, f"https://example.com/during-fault/{via}/{len(self.created)}")
        assert_unavailable(made, api=True)
        assert_unavailable(self.form(via), api=False)
        health = self.get(via, "/healthz")
        assert health.status in ((200, 503) if reads is None else (200,) if reads else (503,))
        if health.status == 503:
            assert health.header("retry-after")
        for code, url in list(self.created.items())[:2]:
            looked = self.get(via, f"/api/links/{code}")
            if looked.status == 503 and not reads:
                assert_unavailable(looked, api=True)
            else:
                assert looked.status == 200, looked.body
                assert looked.json()["url"] == url
            went = self.get(via, f"/{code}")
            if went.status == 503:  # a CGI redirect writes its hit, so it needs the disk
                assert_unavailable(went, api=False)
            else:
                assert went.status == 302
                assert went.header("location") == url

    def assert_works(self, via: str, tag: str) -> None:
        made = self.create(via, f"https://example.com/after/{tag}/{via}")
        assert made.status == 201, made.body
        assert self.get(via, "/healthz").status == 200
        for code, url in list(self.created.items())[-3:]:
            went = self.get(via, f"/api/links/{code}")
            assert went.status == 200, (code, went.body)
            assert went.json()["url"] == url

    def assert_stored(self) -> None:
        """Every create answered 2xx is in the file, with its URL."""
        self.app.shortener.store.close()  # write the buffered hits, let go of the file
        rows = Rows(self.path)
        assert {code: rows.url(code) for code in self.created} == self.created


def _answer(result: Result) -> Answer:
    return Answer(result.status, result.headers, result.body)


def assert_unavailable(answer: Answer, *, api: bool) -> None:
    assert answer.status == 503, (answer.status, answer.body[:300])
    assert answer.header("retry-after"), answer.headers
    if api:
        assert answer.json() == {"error": {"code": "unavailable", "message": GENERIC}}
    else:
        assert answer.header("content-type") == "text/html; charset=utf-8"
        assert GENERIC in answer.text
    for leak in LEAKS:
        assert leak not in answer.body, (leak, answer.body[:300])


def seed(path: Path, n: int) -> dict[str, str]:
    """A database with ``n`` links, closed cleanly (no -wal or -shm left)."""
    store = SQLiteStore(path)
    try:
        shortener = Shortener(store)
        links = [shortener.shorten(f"https://example.com/seed/{i}") for i in range(n)]
    finally:
        store.close()
    return {link.code: link.url for link in links}


# -- the faults --------------------------------------------------------------------------


def test_read_only_disk(tmpfs: Callable[[str], Path]) -> None:
    folder = tmpfs("4m")
    path = folder / "links.db"
    site = Site(path)
    try:
        for via in ("wsgi", "cgi"):
            site.assert_works(via, "before")
        site.app.close()  # open for writing, the file system could not become read-only
        need(["mount", "-o", "remount,ro", str(folder)], "a read-only remount is needed")
        site.restart()
        try:
            for via in ("wsgi", "cgi"):
                site.assert_refused(via, reads=False)
        finally:
            need(["mount", "-o", "remount,rw", str(folder)], "the remount back is needed")
        for via in ("wsgi", "cgi"):
            site.assert_works(via, "recovered")
        site.assert_stored()
    finally:
        site.close()
    record(f"read-only disk: {site.answers} requests, 503 while read-only, recovered")


def test_read_only_file(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    seeded = seed(path, 3)
    site = Site(path)
    site.created = dict(seeded)
    try:
        for via in ("wsgi", "cgi"):
            site.assert_works(via, "before")
        site.app.close()  # a file already open for writing stays writable
        # Root ignores file modes; an immutable file is read-only even for root.
        need(["chattr", "+i", str(path)], "an immutable file attribute is needed")
        site.restart()
        try:
            for via in ("wsgi", "cgi"):
                site.assert_refused(via, reads=True)
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        for via in ("wsgi", "cgi"):
            site.assert_works(via, "recovered")
        site.assert_stored()
    finally:
        site.close()
    record(f"read-only file (chattr +i): {site.answers} requests, reads served, writes 503")


def test_full_disk(tmpfs: Callable[[str], Path]) -> None:
    folder = tmpfs("1m")
    path = folder / "links.db"
    site = Site(path)
    filler = folder / "filler"
    try:
        site.assert_works("wsgi", "before")
        free = shutil.disk_usage(folder).free
        filler.write_bytes(b"\0" * max(0, free - 48 * 1024))
        refused = 0
        for i in range(400):  # bounded; the disk fills long before
            url = f"https://example.com/fill/{i}/" + "x" * 1500
            answer = site.create("wsgi", url)
            if answer.status == 503:
                assert_unavailable(answer, api=True)
                refused += 1
                if refused >= 5:
                    break
            else:
                assert answer.status == 201, answer.body
        assert refused >= 5, "the disk never filled"
        filled = len(site.created)
        for via in ("wsgi", "cgi"):
            assert_unavailable(site.create(via, f"https://example.com/full/{via}"), api=True)
        filler.unlink()  # the space is back
        for via in ("wsgi", "cgi"):
            site.assert_works(via, "recovered")
        site.assert_stored()
    finally:
        site.close()
    record(
        f"full disk (1 MiB tmpfs): {filled} creates stored before it filled, then 503s; "
        f"all {len(site.created)} answered 201 are stored; recovered once space was freed"
    )


def test_missing_directory(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "there"
    path = folder / "links.db"
    site = Site(path)
    try:
        for via in ("wsgi", "cgi"):
            site.assert_refused(via, reads=False)
        assert not folder.exists(), "a missing folder must not be created"
        folder.mkdir(parents=True)
        for via in ("wsgi", "cgi"):
            site.assert_works(via, "recovered")
        site.assert_stored()
    finally:
        site.close()
    record(f"missing directory: {site.answers} requests, 503 until it exists, then 201")


CORRUPTIONS = {
    "garbage": lambda good, rng: bytes(rng.randrange(256) for _ in range(len(good))),
    "header-only": lambda good, rng: good[:100] + b"\0" * (len(good) - 100),
    "truncated": lambda good, rng: good[: len(good) // 3],
}


@pytest.mark.parametrize("damage", sorted(CORRUPTIONS))
def test_damaged_file(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "links.db"
    seeded = seed(path, 200)
    good = path.read_bytes()
    path.write_bytes(CORRUPTIONS[damage](good, random.Random(damage)))
    site = Site(path)
    try:
        site.created = dict(seeded)
        for via in ("wsgi", "cgi"):
            site.assert_refused(via, reads=None)
        path.write_bytes(good)  # restored from the backup
        for via in ("wsgi", "cgi"):
            site.assert_works(via, "restored")
        site.assert_stored()
    finally:
        site.close()
    record(f"damaged file ({damage}): {site.answers} requests, 503 until restored, then 201")
