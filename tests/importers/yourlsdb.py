"""A YOURLS database on the machine's MariaDB server for tests, and what importing it gives.

Tests never mock MariaDB. ``MINILINK_TEST_MYSQL`` names a server to connect to with
the right to create databases (default: ``root`` without a password on
127.0.0.1:3306). When it cannot be reached the tests skip, except in CI (``CI`` set),
where they fail: CI starts it in ``.ci/setup.d/35-mariadb.sh``.

The schema is YOURLS 1.10's (``yourls_create_sql_tables`` in its
``includes/functions-install.php``), and the rows hold what real installs hold: the
sample links, keywords YOURLS generates (``s`` is the 28th), upper case and ``-``
from plugins, a 100-character keyword, quotes and backslashes, 4-byte UTF-8, a
zero timestamp, and rows minilink refuses on purpose.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import urlsplit

import pytest

SERVER_URL = os.environ.get("MINILINK_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS `{p}url` ("
    "`keyword` varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',"
    "`url` text CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,"
    "`title` text COLLATE utf8mb4_unicode_ci DEFAULT NULL,"
    "`timestamp` timestamp NOT NULL DEFAULT current_timestamp(),"
    "`ip` varchar(41) COLLATE utf8mb4_unicode_ci NOT NULL,"
    "`clicks` int(10) unsigned NOT NULL,"
    "PRIMARY KEY (`keyword`), KEY `ip` (`ip`), KEY `timestamp` (`timestamp`),"
    "KEY `url_idx` (`url`(30))"
    ") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS `{p}options` ("
    "`option_id` bigint(20) unsigned NOT NULL auto_increment,"
    "`option_name` varchar(64) COLLATE utf8mb4_unicode_ci NOT NULL default '',"
    "`option_value` longtext COLLATE utf8mb4_unicode_ci NOT NULL,"
    "PRIMARY KEY (`option_id`,`option_name`), KEY `option_name` (`option_name`)"
    ") AUTO_INCREMENT=1 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
    "CREATE TABLE IF NOT EXISTS `{p}log` ("
    "`click_id` int(11) NOT NULL auto_increment,"
    "`click_time` datetime NOT NULL,"
    "`shorturl` varchar(100) BINARY NOT NULL,"
    "`referrer` varchar(200) NOT NULL,"
    "`user_agent` varchar(255) NOT NULL,"
    "`ip_address` varchar(41) NOT NULL,"
    "`country_code` char(2) NOT NULL,"
    "PRIMARY KEY (`click_id`), KEY `shorturl` (`shorturl`)"
    ") AUTO_INCREMENT=1 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
)

LONG = "k" * 99 + "Z"  # 100 characters, the most a YOURLS keyword has
QUOTE_TITLE = 'It\'s "quoted", a back\\slash,\ta tab\nand a line'

#: (keyword, url, title, timestamp, clicks)
LINKS: list[tuple[str, str, Optional[str], str, int]] = [
    ("docs", "https://Example.COM/docs", "Docs, the title", "2021-03-04 05:06:07", 12),
    ("s", "https://example.org/s", "YOURLS's 28th keyword", "2020-01-01 00:00:00", 5),
    ("Mixed-Case_1", "https://example.org/mixed", None, "2022-06-01 12:00:00", 0),
    (LONG, "https://example.org/long", "A long keyword", "2019-05-05 05:05:05", 1),
    ("quote", "https://example.org/it's?q=%22x%22", QUOTE_TITLE, "2021-07-01 00:00:00", 2),
    (
        "unicode",
        "https://\u4f8b\u3048.jp/\u30d1\u30b9",
        "Caf\u00e9 \u2615 \U0001f600",
        "2021-08-01 08:00:00",
        0,
    ),
    ("zero", "https://example.org/zero", "", "0000-00-00 00:00:00", 3),
    ("api", "https://example.org/api", "a route of minilink", "2021-01-01 00:00:00", 1),
    ("ftp1", "ftp://files.example.org/x", None, "2021-01-01 00:00:00", 0),
    ("user1", "https://bank.example@evil.example/", None, "2021-01-01 00:00:00", 0),
    ("dot.ted", "https://example.org/dot", None, "2021-01-01 00:00:00", 0),
]
#: (click_time, shorturl) rows of the click log.
LOG: list[tuple[str, str]] = [
    *[("2021-03-05 10:00:00", "docs")] * 3,
    *[("2021-03-06 23:59:59", "docs")] * 2,
    *[("2020-01-02 00:00:01", "s")] * 7,  # more than the counter: the log's total wins
    ("2021-07-02 12:00:00", "quote"),
    ("2021-01-02 00:00:00", "api"),
    ("2021-01-02 00:00:00", "gone-from-yourls"),  # a link deleted in YOURLS
]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


#: code -> (url as minilink stores it, title, created_at, hits, per-day counts), in the
#: order ``minilink list`` shows them reversed (oldest first); ``zero`` gets the time
#: of the import and comes last.
EXPECTED: dict[str, tuple[str, Optional[str], Optional[datetime], int, tuple[Any, ...]]] = {
    LONG: ("https://example.org/long", "A long keyword", _utc("2019-05-05 05:05:05"), 1, ()),
    "s": (
        "https://example.org/s",
        "YOURLS's 28th keyword",
        _utc("2020-01-01 00:00:00"),
        7,
        (("2020-01-02", 7),),
    ),
    "docs": (
        "https://example.com/docs",
        "Docs, the title",
        _utc("2021-03-04 05:06:07"),
        12,
        (("2021-03-05", 3), ("2021-03-06", 2)),
    ),
    "quote": (
        "https://example.org/it's?q=%22x%22",
        'It\'s "quoted", a back\\slash, a tab and a line',
        _utc("2021-07-01 00:00:00"),
        2,
        (("2021-07-02", 1),),
    ),
    "unicode": (
        "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9",
        "Caf\u00e9 \u2615 \U0001f600",
        _utc("2021-08-01 08:00:00"),
        0,
        (),
    ),
    "Mixed-Case_1": ("https://example.org/mixed", None, _utc("2022-06-01 12:00:00"), 0, ()),
    "zero": ("https://example.org/zero", None, None, 3, ()),
}
#: keyword -> (a word of the reason, the setting named or None)
REFUSED = {
    "api": ("reserved", None),
    "ftp1": ("scheme", "MINILINK_ALLOWED_SCHEMES=http,https,ftp"),
    "user1": ("user name", None),
    "dot.ted": ("characters", None),
}


def _server() -> dict[str, Any]:
    parts = urlsplit(SERVER_URL)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
    }


def connect(database: Optional[str] = None) -> Any:
    import pymysql

    return pymysql.connect(**_server(), database=database, charset="utf8mb4", autocommit=True)


def require_server() -> None:
    """Skip (fail in CI) when the MariaDB server does not answer."""
    import pymysql

    try:
        connect().close()
    except pymysql.Error as exc:
        message = f"MariaDB at {SERVER_URL} does not answer: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def temporary_database(purpose: str) -> Iterator[str]:
    """A database of this test run's own, dropped at the end; yields its name."""
    require_server()
    name = f"minilink_{purpose}_{os.getpid()}_{secrets.token_hex(3)}"
    with connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield name
    finally:
        with connect() as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


def install(database: str, prefix: str = "yourls_") -> None:
    """YOURLS's tables in ``database``, filled with ``LINKS`` and ``LOG``."""
    with connect(database) as conn, conn.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")
        for statement in SCHEMA:
            cursor.execute(statement.format(p=prefix))
        cursor.executemany(
            f"INSERT INTO `{prefix}url` (keyword, url, title, timestamp, ip, clicks)"
            " VALUES (%s, %s, %s, %s, '192.0.2.1', %s)",
            LINKS,
        )
        cursor.executemany(
            f"INSERT INTO `{prefix}log` (click_time, shorturl, referrer, user_agent,"
            " ip_address, country_code)"
            " VALUES (%s, %s, 'direct', 'Mozilla/5.0', '192.0.2.9', 'FR')",
            LOG,
        )
        cursor.execute(
            f"INSERT INTO `{prefix}options` (option_name, option_value) VALUES"
            " ('version', '1.10.4'), ('db_version', '506'), ('next_id', '29')"
        )


def url_of(database: str, prefix: Optional[str] = None) -> str:
    server = _server()
    auth = server["user"] + (f":{server['password']}" if server["password"] else "")
    query = f"?prefix={prefix}" if prefix is not None else ""
    return f"mysql://{auth}@{server['host']}:{server['port']}/{database}{query}"


def client_args() -> list[str]:
    server = _server()
    args = ["-h", server["host"], "-P", str(server["port"]), "-u", server["user"]]
    if server["password"]:
        args.append(f"-p{server['password']}")
    return args


def mysqldump(database: str, *options: str) -> str:
    """The text of a real ``mysqldump`` of ``database``."""
    return subprocess.run(
        ["mysqldump", *client_args(), *options, database],
        check=True,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    ).stdout


def mysql_batch(database: str, query: str) -> str:
    """What ``mysql -B -e QUERY`` prints: tab-separated, a header row, escapes."""
    return subprocess.run(
        ["mysql", *client_args(), "-B", "--default-character-set=utf8mb4", "-e", query, database],
        check=True,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    ).stdout
