"""Concurrency on one SQLite file: CGI processes, gunicorn threads, one alias.

Each storm runs the shipped entry points against one database file and then checks
every answer against the file itself:

* 16 lanes of CGI processes (``python -m minilink.adapters.cgi``, one process per
  request, as a web server runs them) create 100 links each: 1,600 answers 201, 1,600
  distinct codes, each stored with its URL and resolving to it;
* the same lanes follow one short link 100 times each: exactly 1,600 hits stored;
* the create storm again (16 lanes x 50) with 2-character codes from a 4-letter
  alphabet, so that codes collide all the time: none is lost or given twice, and
  codes grow longer;
* 50 processes create one alias at once: one 201, forty-nine 409;
* a writer that holds the lock: a request waits for it (and succeeds when it is let
  go in time) or, after the busy timeout, answers 503 with ``Retry-After`` and a
  fixed sentence, never "database is locked";
* gunicorn's gthread workers (2 processes x 8 threads) take a storm that mixes
  creates, redirects and deletes from 16 client threads; after an orderly stop the
  file holds every create, every delete, and exactly one hit per redirect answered.
"""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import pytest
from _reliability import (
    AUTH,
    Answer,
    Gunicorn,
    Rows,
    assert_resolve,
    cgi,
    cgi_create,
    hold_write_lock,
    http,
    http_create,
    lanes,
    record,
    statuses,
)

from minilink import build_app
from minilink.core.config import Config
from minilink.testing.clients import Result, WSGIClient

LANES = 16
PER_LANE = 100
#: The tiny-code-space storm makes each create try several codes, each try a write
#: transaction of its own; half the count keeps the suite's time in bounds.
TINY_PER_LANE = 50
RACERS = 50

pytestmark = pytest.mark.slow


def create_storm(path: Path, per_lane: int, **env: str) -> tuple[list[tuple[str, Answer]], float]:
    """16 lanes of ``per_lane`` CGI creates of distinct URLs; every (url, answer)."""

    def lane(i: int) -> list[tuple[str, Answer]]:
        done = []
        for j in range(per_lane):
            url = f"https://example.com/storm/{i}/{j}"
            done.append((url, cgi_create(str(path), url, env=env)))
        return done

    started = time.monotonic()
    results = [pair for part in lanes(LANES, lane) for pair in part]
    return results, time.monotonic() - started


def test_cgi_create_storm(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    results, seconds = create_storm(path, PER_LANE)
    answers = [answer for _, answer in results]
    assert statuses(answers) == {201: LANES * PER_LANE}
    made = {answer.json()["code"]: url for url, answer in results}
    assert len(made) == LANES * PER_LANE, "a code was given to two links"
    rows = Rows(path)
    assert rows.count == LANES * PER_LANE
    assert {code: rows.url(code) for code in made} == made
    assert_resolve(path, made)
    slowest = max(answer.seconds for answer in answers)
    record(
        f"CGI create storm: {LANES} lanes x {PER_LANE} = {len(answers)} processes, "
        f"{len(made)} distinct codes, 0 errors, {seconds:.1f} s (slowest request "
        f"{slowest:.2f} s)"
    )


def test_cgi_redirect_storm(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    code = cgi_create(str(path), "https://example.com/hot").json()["code"]

    def lane(i: int) -> list[Answer]:
        return [cgi(str(path), "GET", f"/{code}")[0] for _ in range(PER_LANE)]

    started = time.monotonic()
    answers = [answer for part in lanes(LANES, lane) for answer in part]
    seconds = time.monotonic() - started
    assert statuses(answers) == {302: LANES * PER_LANE}
    assert {answer.header("location") for answer in answers} == {"https://example.com/hot"}
    rows = Rows(path)
    assert rows.hits(code) == LANES * PER_LANE
    assert sum(rows.daily.values()) == LANES * PER_LANE
    record(
        f"CGI redirect storm: {len(answers)} processes, {rows.hits(code)} hits stored "
        f"for {len(answers)} redirects, {seconds:.1f} s"
    )


def test_cgi_create_storm_in_a_tiny_code_space(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    env = {"MINILINK_CODE_LENGTH": "2", "MINILINK_CODE_ALPHABET": "abcd"}
    results, seconds = create_storm(path, TINY_PER_LANE, **env)
    made: dict[str, str] = {}
    refused = 0
    for url, answer in results:
        # Every create either succeeds or says clearly that no code was free.
        if answer.status == 409:
            assert answer.json()["error"]["code"] == "alias_taken"
            assert "No free code" in answer.json()["error"]["message"]
            refused += 1
            continue
        assert answer.status == 201, (answer.status, answer.body)
        code = answer.json()["code"]
        assert code not in made, f"{code} was given twice"
        made[code] = url
    rows = Rows(path)
    assert rows.count == len(made), "a 201 without its row, or a row without its 201"
    assert {code: rows.url(code) for code in made} == made
    lengths = sorted({len(code) for code in made})
    # All 16 two-letter codes were taken, and the rest grew longer.
    assert sum(1 for code in made if len(code) == 2) == 16
    assert lengths[0] == 2
    assert lengths[-1] >= 5  # 16 + 64 + 256 codes of 2 to 4 letters: 800 creates need more
    assert refused <= len(results) // 100, f"{refused} creates found no free code"
    assert_resolve(path, made)
    record(
        f"CGI create storm, 2-character codes from 'abcd': {len(results)} processes, "
        f"{len(made)} created, {refused} refused clearly, code lengths {lengths}, "
        f"{seconds:.1f} s"
    )


def test_a_full_code_space_fails_clearly(tmp_path: Path) -> None:
    """With codes of 2 to 7 letters from "ab" (252 in all), creates from 8 threads of a
    persistent app fill the space: the last ones are refused with a clear 409, and
    every 201 is stored."""
    path = tmp_path / "links.db"
    config = Config(store=str(path), code_length=2, code_alphabet="ab", rate_limit=0)
    app = build_app(config, persistent=True)
    try:
        client = WSGIClient(app)  # through wsgiref.validate, from every thread at once

        def lane(i: int) -> list[tuple[str, Result]]:
            done = []
            for j in range(40):
                url = f"https://example.com/full/{i}/{j}"
                done.append((url, client.post_json("/api/links", {"url": url})))
            return done

        results = [pair for part in lanes(8, lane) for pair in part]
    finally:
        app.close()
    made = {}
    refused = 0
    for url, result in results:
        if result.status == 409:
            assert result.json()["error"]["code"] == "alias_taken"
            assert "No free code" in result.json()["error"]["message"]
            refused += 1
        else:
            assert result.status == 201, result.body
            made[result.json()["code"]] = url
    assert refused > 0, "320 creates never filled 252 codes"
    assert len(made) + refused == len(results)
    rows = Rows(path)
    assert rows.count == len(made)
    assert {code: rows.url(code) for code in made} == made
    record(
        f"full code space ('ab', 2 to 7 letters): {len(made)} created, {refused} refused "
        "with a clear 409, none lost"
    )


def test_cgi_same_alias_race(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    cgi(str(path), "GET", "/healthz")  # the schema exists before the race

    def racer(i: int) -> Answer:
        return cgi_create(str(path), f"https://example.com/racer/{i}", alias="race")

    answers = lanes(RACERS, racer)
    assert statuses(answers) == {201: 1, 409: RACERS - 1}
    winner = next(i for i, answer in enumerate(answers) if answer.status == 201)
    for answer in answers:
        if answer.status == 409:
            assert answer.json()["error"]["code"] == "alias_taken"
    rows = Rows(path)
    assert rows.count == 1
    assert rows.url("race") == f"https://example.com/racer/{winner}"
    record(f"same-alias race over CGI: {RACERS} processes, 1 x 201, {RACERS - 1} x 409")


def test_a_held_lock_is_waited_for_then_answered_503(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    cgi(str(path), "GET", "/healthz")
    body = json.dumps({"url": "https://example.com/locked"}).encode()
    store = f"sqlite:///{path}?timeout=1"

    # Let go after 0.5 s: the request waits within its 10 s budget and succeeds.
    lock = hold_write_lock(path)
    release = threading.Timer(0.5, lock.rollback)
    release.start()
    try:
        waited, _ = cgi(
            f"sqlite:///{path}?timeout=10",
            "POST",
            "/api/links",
            body=body,
            content_type="application/json",
        )
    finally:
        release.join()
        lock.close()
    assert waited.status == 201, waited.body
    assert waited.seconds >= 0.4

    # Held past the 1 s budget: a 503 that says to retry, and nothing about SQLite.
    lock = hold_write_lock(path)
    try:
        refused, stderr = cgi(
            store, "POST", "/api/links", body=body, content_type="application/json"
        )
        page, _ = cgi(
            store,
            "POST",
            "/",
            body=b"url=https%3A%2F%2Fexample.com%2Fform",
            content_type="application/x-www-form-urlencoded",
        )
    finally:
        lock.close()
    assert refused.status == 503
    assert refused.seconds >= 0.9, "answered before the busy timeout"
    assert refused.header("retry-after") == "1"
    assert refused.json()["error"] == {
        "code": "unavailable",
        "message": "The store is unavailable; try again shortly.",
    }
    assert page.status == 503
    assert page.header("retry-after") == "1"
    for answer in (refused, page):
        assert b"locked" not in answer.body
        assert str(path).encode() not in answer.body
    assert b"locked" in stderr, "the reason belongs in the server's log"
    assert Rows(path).count == 1
    record(
        f"held write lock: waited {waited.seconds:.2f} s then 201; past a 1 s budget "
        f"503 + Retry-After after {refused.seconds:.2f} s"
    )


# -- gunicorn ------------------------------------------------------------------------------

HOT = 8


def test_gunicorn_gthread_mixed_storm(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    server = Gunicorn(str(path), workers=2, threads=8)
    try:
        hot = {}
        for i in range(HOT):
            answer = http_create(server.port, f"https://example.com/hot/{i}")
            assert answer.status == 201, answer.body
            hot[answer.json()["code"]] = f"https://example.com/hot/{i}"
        hot_codes = sorted(hot)

        def lane(i: int) -> dict[str, object]:
            rng = random.Random(i)
            created: dict[str, str] = {}
            deleted: list[str] = []
            followed: dict[str, int] = {}
            answers: list[tuple[str, Answer]] = []
            j = 0
            while len(answers) < PER_LANE:
                roll = rng.random()
                live = [code for code in created if code not in deleted]
                if roll < 0.15 and live:
                    code = rng.choice(live)
                    gone = http(server.port, "DELETE", f"/api/links/{code}", headers=AUTH)
                    answers.append(("delete", gone))
                    assert gone.status == 204, gone.body
                    deleted.append(code)
                    after = http(server.port, "GET", f"/{code}")
                    answers.append(("after-delete", after))
                    assert after.status == 410, after.status
                elif roll < 0.55:
                    url = f"https://example.com/mixed/{i}/{j}"
                    j += 1
                    made = http_create(server.port, url)
                    answers.append(("create", made))
                    assert made.status == 201, made.body
                    created[made.json()["code"]] = url
                else:
                    code = rng.choice(hot_codes)
                    went = http(server.port, "GET", f"/{code}")
                    answers.append(("redirect", went))
                    assert went.status == 302, (went.status, went.body)
                    assert went.header("location") == hot[code]
                    followed[code] = followed.get(code, 0) + 1
            return {"created": created, "deleted": deleted, "followed": followed, "n": answers}

        started = time.monotonic()
        results = lanes(LANES, lane)
        seconds = time.monotonic() - started
        alias = lanes(
            RACERS,
            lambda i: http_create(server.port, f"https://example.com/r/{i}", alias="race"),
        )
    finally:
        server.stop()  # SIGTERM: the workers write their buffered hits as they leave
    assert statuses(alias) == {201: 1, 409: RACERS - 1}

    rows = Rows(path)
    created: dict[str, str] = {}
    deleted: set[str] = set()
    followed: dict[str, int] = {}
    total = 0
    for result in results:
        created.update(result["created"])  # type: ignore[arg-type]
        deleted.update(result["deleted"])  # type: ignore[arg-type]
        for code, n in result["followed"].items():  # type: ignore[attr-defined]
            followed[code] = followed.get(code, 0) + n
        total += len(result["n"])  # type: ignore[arg-type]
    assert rows.count == HOT + len(created) + 1
    assert {code: rows.url(code) for code in created} == created
    assert {code for code in created if rows.deleted(code)} == deleted
    for code in hot_codes:
        assert rows.hits(code) == followed.get(code, 0), code
        days = sum(hits for (c, _), hits in rows.daily.items() if c == code)
        assert days == followed.get(code, 0), code
    record(
        f"gunicorn gthread 2 workers x 8 threads: {total} requests from {LANES} threads "
        f"({len(created)} creates, {len(deleted)} deletes, {sum(followed.values())} "
        f"redirects = hits stored), 0 errors, {seconds:.1f} s; alias race over HTTP: "
        f"{RACERS} requests, 1 x 201"
    )
