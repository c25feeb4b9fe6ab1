"""Search and listing at 1M links, SQLite and PostgreSQL: medians and p95 against targets.

    python bench/search.py [--links 1000000] [--rounds 31] [--backend sqlite|postgres|both]

A store of ``--links`` links with a realistic mix (a third tagged with one to three of
50 tags, 40% with a title, 5% expired, 2% used up, 3% deleted, 10% edited) is built
once through ``Store.restore`` and reused: the SQLite file is kept in the temporary
directory and the PostgreSQL data in a schema of its own on the server of
``MINILINK_BENCH_POSTGRES`` (default: the ``postgres`` database on 127.0.0.1:5432 as
the ``postgres`` role, as the tests use), both named after the number of links, the
store's schema version and the version of this data (``DATA_VERSION``). A server that
does not answer is skipped with a message. ``--rebuild`` builds them again.

Measured through ``Shortener`` (the calls the API makes), a page of 50 links each,
the operations interleaved round after round so that the machine's noise falls on
all of them alike; median and p95 in ms:

* ``substring`` : ``search(text)`` with a word that ~0.1% of the links carry (target
  50 ms), and ``substring-none``: one that no link carries (the same target; with
  no index that serves it, the whole table is read);
* ``newest``: the first page of the list (target 10 ms); ``tag``: the first page of
  one tag (target 10 ms); ``tag-after``: a page of that tag after a cursor half-way
  down it; ``updated``: the first page of ``sort=updated``; ``tags``: ``tags()``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from common import code_for, save

from minilink import Shortener
from minilink.core.links import Link, Search
from minilink.storage.base import Store

#: Bump when the generated links change: cached stores of another version are rebuilt.
DATA_VERSION = 1
PAGE = 50
POSTGRES_URL = os.environ.get(
    "MINILINK_BENCH_POSTGRES",
    os.environ.get("MINILINK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
TAGS = (
    "news",
    "sport",
    "tech",
    "science",
    "health",
    "travel",
    "food",
    "music",
    "film",
    "books",
    "art",
    "design",
    "code",
    "python",
    "rust",
    "go",
    "web",
    "mobile",
    "cloud",
    "security",
    "data",
    "ai",
    "ml",
    "devops",
    "linux",
    "windows",
    "mac",
    "games",
    "finance",
    "jobs",
    "events",
    "docs",
    "video",
    "audio",
    "photo",
    "shop",
    "deals",
    "blog",
    "press",
    "research",
    "edu",
    "kids",
    "home",
    "garden",
    "cars",
    "bikes",
    "climate",
    "energy",
    "space",
    "history",
)
#: The needle of the ~0.1% substring search: one word of a vocabulary of 1,000.
VOCABULARY = [
    a + b + c
    for a in ("ba", "ke", "lo", "mi", "nu", "po", "ra", "si", "tu", "ve")
    for b in ("dor", "fen", "gal", "hus", "jin", "kor", "lum", "mar", "nex", "pil")
    for c in ("ack", "ebb", "ith", "ond", "urn", "yst", "olk", "imb", "eft", "azz")
]
NEEDLE = "mikorith"  # in VOCABULARY; contains no other word, nor does any other word it
MISSING = "zqxjwv"  # no letter pair of it occurs in a word, a code is 7 random letters
TARGETS = {"substring": 50.0, "substring-none": 50.0, "newest": 10.0, "tag": 10.0}
START = datetime(2024, 12, 1, tzinfo=timezone.utc)


def links(n: int) -> Iterator[Link]:
    """``n`` links, oldest first, the same for every run of one ``DATA_VERSION``."""
    rng = random.Random(13)
    now = datetime.now(timezone.utc)
    step = (now - timedelta(days=1) - START) / max(n, 1)
    for i in range(n):
        created = START + step * i
        word = VOCABULARY[rng.randrange(len(VOCABULARY))]
        url = f"https://site{rng.randrange(5000)}.example.org/{word}/{i}?ref=bench"
        roll = rng.random()
        title = f"The {word} page number {i}" if rng.random() < 0.4 else None
        tags: tuple[str, ...] = ()
        if rng.random() < 1 / 3:
            tags = tuple(rng.sample(TAGS, rng.randint(1, 3)))
        expires_at = deleted_at = max_visits = None
        hits = rng.randrange(50)
        if roll < 0.05:
            expires_at = created + timedelta(days=7)  # in the past, but for the newest
        elif roll < 0.07:
            max_visits = hits or 1
            hits = max_visits
        elif roll < 0.10:
            deleted_at = created + timedelta(days=2)
        edited = rng.random() < 0.1
        yield Link(
            code=code_for(i),
            url=url,
            created_at=created,
            expires_at=expires_at,
            max_visits=max_visits,
            hits=hits,
            alias=False,
            deleted_at=deleted_at,
            title=title,
            tags=tags,
            updated_at=created + timedelta(hours=rng.randrange(1, 5000)) if edited else None,
            revision=rng.randint(1, 3) if edited else 0,
        )


def fill(store: Store, n: int) -> dict[str, Any]:
    """Restore ``n`` links into ``store`` in batches; what the searches will need."""
    begin = time.perf_counter()
    chunk = 100_000
    generated = links(n)
    done = 0
    while done < n:
        size = min(chunk, n - done)
        batch = [(next(generated), ()) for _ in range(size)]
        store.restore(batch)
        done += size
        print(f"  {done:,} links, {time.perf_counter() - begin:.0f} s", flush=True)
    return {"build_s": round(time.perf_counter() - begin, 1)}


def facts(n: int) -> dict[str, Any]:
    """What the generated data holds at this moment, counted from the generator with
    ``Search.matches`` (the meaning every store must give), not from the store."""
    now = datetime.now(timezone.utc)
    text = Search(now=now, text=NEEDLE)
    tagged = Search(now=now, tag="python")
    needle = tag_links = 0
    mid: Optional[str] = None
    for link in links(n):
        if text.matches(link):
            needle += 1
        if tagged.matches(link):
            tag_links += 1
            # A cursor half-way down the tag: live long ago, so live in later runs too.
            if mid is None and _index(link) >= n // 2:
                mid = link.code
    return {"needle_links": needle, "tag": "python", "tag_links": tag_links, "tag_cursor": mid}


def _index(link: Link) -> int:
    return int(link.url.rsplit("/", 1)[1].split("?")[0])


def sqlite_store(n: int, cache: Path, rebuild: bool) -> tuple[Store, dict[str, Any]]:
    from minilink.storage.sqlite import SCHEMA_VERSION, SQLiteStore

    path = cache / f"search-{n}-s{SCHEMA_VERSION}-d{DATA_VERSION}.db"
    marker = path.with_suffix(".json")
    if rebuild or not marker.exists():
        marker.unlink(missing_ok=True)
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        print(f"SQLite: building {path} ({n:,} links)", flush=True)
        with SQLiteStore(str(path)) as store:
            info = fill(store, n)
        info.update(facts(n))
        marker.write_text(json.dumps(info))
    info = json.loads(marker.read_text())
    info["where"] = str(path)
    info["size_mb"] = round(path.stat().st_size / 2**20)
    return SQLiteStore(str(path)), info


def postgres_store(n: int, rebuild: bool) -> Optional[tuple[Store, dict[str, Any]]]:
    try:
        import psycopg
        from psycopg import sql

        from minilink.storage.postgres import SCHEMA_VERSION, PostgresStore
    except ImportError as exc:
        print(f"PostgreSQL: skipped, its driver is missing ({exc})")
        return None
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        print(f"PostgreSQL: skipped, {POSTGRES_URL} does not answer: {exc}".strip())
        return None
    schema = f"bench_search_{n}_s{SCHEMA_VERSION}_d{DATA_VERSION}"
    ident = sql.Identifier(schema)
    url = POSTGRES_URL + ("&" if "?" in POSTGRES_URL else "?") + f"options=-csearch_path%3D{schema}"
    with admin:
        row = admin.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            (schema,),
        ).fetchone()
        ready = row is not None and row[0] is not None and not rebuild
        if not ready:
            print(f"PostgreSQL: building schema {schema} ({n:,} links)", flush=True)
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
            with PostgresStore.from_url(url) as store:
                info = fill(store, n)
            info.update(facts(n))
            admin.execute(sql.SQL("VACUUM ANALYZE {}.minilink_links").format(ident))
            admin.execute(sql.SQL("VACUUM ANALYZE {}.minilink_tags").format(ident))
            admin.execute(
                sql.SQL("COMMENT ON SCHEMA {} IS {}").format(ident, sql.Literal(json.dumps(info)))
            )
        else:
            info = json.loads(row[0])
        trigram = admin.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexdef LIKE %s",
            (schema, "%gin_trgm_ops%"),
        ).fetchone()
        info["trigram_index"] = bool(trigram and trigram[0])
        size = admin.execute(
            "SELECT pg_total_relation_size(%s)", (f"{schema}.minilink_links",)
        ).fetchone()
        info["size_mb"] = round(size[0] / 2**20) if size else None
        info["server"] = admin.info.parameter_status("server_version")
    info["where"] = f"schema {schema}"
    return PostgresStore.from_url(url), info


def operations(shortener: Shortener, info: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    tag = info["tag"]
    return {
        "substring": lambda: shortener.search(NEEDLE, limit=PAGE),
        "substring-none": lambda: shortener.search(MISSING, limit=PAGE),
        "newest": lambda: shortener.search(limit=PAGE),
        "tag": lambda: shortener.search(tag=tag, limit=PAGE),
        "tag-after": lambda: shortener.search(tag=tag, limit=PAGE, after=info["tag_cursor"]),
        "updated": lambda: shortener.search(sort="updated", limit=PAGE),
        "tags": shortener.tags,
    }


def measure(store: Store, info: dict[str, Any], rounds: int) -> dict[str, dict[str, Any]]:
    shortener = Shortener(store)
    ops = operations(shortener, info)
    # What each answers, checked once: a benchmark of empty answers measures nothing.
    sizes = {name: len(op()) for name, op in ops.items()}
    expect = {"substring": min(PAGE, info["needle_links"]), "substring-none": 0}
    for name, want in expect.items():
        if sizes[name] != want:
            raise SystemExit(f"{name}: {sizes[name]} links, expected {want}")
    for name in ("newest", "tag", "tag-after", "updated"):
        if sizes[name] != PAGE:
            raise SystemExit(f"{name}: {sizes[name]} links, expected a page of {PAGE}")
    if sizes["tags"] != len(TAGS):
        raise SystemExit(f"tags(): {sizes['tags']} tags, expected {len(TAGS)}")
    for op in ops.values():  # warm caches: each measure is of a store in use
        op()
        op()
    times: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(rounds):
        for name, op in ops.items():
            begin = time.perf_counter()
            op()
            times[name].append((time.perf_counter() - begin) * 1000)
    results = {}
    for name, samples in times.items():
        samples.sort()
        p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
        results[name] = {
            "median_ms": round(statistics.median(samples), 3),
            "p95_ms": round(p95, 3),
            "results": sizes[name],
        }
    return results


def table(backend: str, info: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    print(f"\n{backend}: {info['where']}, {info.get('size_mb')} MB, built in {info['build_s']} s")
    print(
        f"  substring needle {NEEDLE!r}: {info['needle_links']:,} live links; "
        f"tag {info['tag']!r}: {info['tag_links']:,} live links"
    )
    if "trigram_index" in info:
        print(f"  pg_trgm index: {'yes' if info['trigram_index'] else 'NO (full scans)'}")
    print(f"  {'measure':<16}{'median ms':>10}{'p95 ms':>9}{'target':>9}  met?")
    for name, r in results.items():
        target = TARGETS.get(name)
        verdict = "—" if target is None else ("yes" if r["median_ms"] <= target else "NO")
        shown = "" if target is None else f"≤ {target:g}"
        print(f"  {name:<16}{r['median_ms']:>10.2f}{r['p95_ms']:>9.2f}{shown:>9}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "minilink-bench"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the stores again")
    args = parser.parse_args()
    if args.links < 10_000:
        parser.error("--links must be at least 10,000 (a tag page needs its links)")
    args.cache.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"links": args.links, "rounds": args.rounds, "page": PAGE}
    report["load"] = os.getloadavg()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        if backend == "sqlite":
            opened: Optional[tuple[Store, dict[str, Any]]] = sqlite_store(
                args.links, args.cache, args.rebuild
            )
        else:
            opened = postgres_store(args.links, args.rebuild)
        if opened is None:
            continue
        store, info = opened
        with store:
            results = measure(store, info, args.rounds)
        table(backend, info, results)
        report[backend] = {"info": info, "results": results}
    print(f"\nload average (1, 5, 15 min) at the start: {report['load']}", file=sys.stderr)
    save("search", report)


if __name__ == "__main__":
    main()
