"""Moving in from YOURLS: its real schema on the machine's MariaDB, read live, through a
real ``mysqldump`` file and through ``mysql -B`` and CSV exports, all giving the same
links; every bad row reported with its reason; re-running changes nothing; and
``minilink list`` shows the links by creation time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yourlsdb
from yourlsdb import EXPECTED, LINKS, LONG, REFUSED

from minilink.cli import main
from minilink.core.config import Config
from minilink.importers import Report, import_database, import_file
from minilink.storage.memory import MemoryStore
from minilink.storage.sqlite import SQLiteStore

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with yourlsdb.temporary_database("yourls") as name:
        yourlsdb.install(name)
        yield name


def _check_links(store: MemoryStore, *, days: bool = True) -> None:
    entries = list(store.export())
    assert [link.code for link, _ in entries] == list(EXPECTED)  # oldest first
    for link, counts in entries:
        url, title, created, hits, logged = EXPECTED[link.code]
        assert link.alias
        assert (link.url, link.title) == (url, title), link.code
        assert link.created_at == (created or NOW), link.code
        if days:
            assert (link.hits, counts) == (hits, logged), link.code
        else:  # a table export has the counters and no log
            clicks = next(row[4] for row in LINKS if row[0] == link.code)
            assert (link.hits, counts) == (clicks, ()), link.code


def _check_report(report: Report, *, where: str) -> None:
    assert (report.read, report.stored, report.unchanged) == (len(LINKS), len(EXPECTED), 0)
    assert {r.keyword: r.setting for r in report.refused} == {
        k: setting for k, (_, setting) in REFUSED.items()
    }
    for refusal in report.refused:
        assert REFUSED[refusal.keyword][0] in refusal.reason
        assert refusal.where.startswith(where)
    assert any("time of the import" in note for note in report.notes)
    assert any("more clicks in the log" in note for note in report.notes)


def test_a_live_yourls_database(database: str) -> None:
    store = MemoryStore()
    report = import_database(store, yourlsdb.url_of(database), now=NOW)
    _check_report(report, where="row ")
    _check_links(store)
    refusal = next(r for r in report.refused if r.keyword == "ftp1")
    assert str(refusal).endswith("; MINILINK_ALLOWED_SCHEMES=http,https,ftp would admit it")


def test_the_refused_scheme_is_admitted_by_the_setting_named(database: str) -> None:
    store = MemoryStore()
    config = Config(allowed_schemes=("http", "https", "ftp"))
    report = import_database(store, yourlsdb.url_of(database), config=config, now=NOW)
    assert "ftp1" not in {r.keyword for r in report.refused}
    assert store.get("ftp1") is not None


@pytest.mark.parametrize(
    "options",
    [
        pytest.param((), id="extended-inserts"),
        pytest.param(("--skip-extended-insert", "--complete-insert"), id="row-by-row-named"),
        pytest.param(("--compact", "--hex-blob"), id="compact"),
    ],
)
def test_a_mysqldump_file_gives_what_the_database_gives(
    database: str, options: tuple[str, ...]
) -> None:
    dump = yourlsdb.mysqldump(database, *options)
    store = MemoryStore()
    report = import_file(store, io.StringIO(dump), format="yourls-sql", now=NOW)
    _check_report(report, where="line ")
    _check_links(store)
    # The line named is the line of the row in the file.
    lines = dump.splitlines()
    for refusal in report.refused:
        number = int(refusal.where.split()[1])
        assert f"'{refusal.keyword}'" in lines[number - 1]


def test_a_database_without_a_click_log_gives_the_totals() -> None:
    with yourlsdb.temporary_database("nolog") as name:
        yourlsdb.install(name)
        with yourlsdb.connect(name) as conn, conn.cursor() as cursor:
            cursor.execute("DROP TABLE yourls_log")
        store = MemoryStore()
        report = import_database(store, yourlsdb.url_of(name), now=NOW)
    assert report.stored == len(EXPECTED)
    _check_links(store, days=False)


def test_a_table_prefix_other_than_yourls(tmp_path: Path) -> None:
    with yourlsdb.temporary_database("prefix") as name:
        yourlsdb.install(name, prefix="short_")
        store = MemoryStore()
        report = import_database(store, yourlsdb.url_of(name, prefix="short_"), now=NOW)
        assert report.stored == len(EXPECTED)
        dump = yourlsdb.mysqldump(name)
    store = MemoryStore()
    with pytest.raises(ValueError, match="no INSERT into yourls_url"):
        import_file(store, io.StringIO(dump), format="yourls-sql")
    report = import_file(store, io.StringIO(dump), format="yourls-sql", prefix="short_", now=NOW)
    assert report.stored == len(EXPECTED)


def test_mysql_batch_output_is_read_as_tab_separated(database: str) -> None:
    text = yourlsdb.mysql_batch(database, "SELECT * FROM yourls_url")
    assert "\t" in text.splitlines()[0]
    store = MemoryStore()
    report = import_file(store, io.StringIO(text), format="yourls", now=NOW)
    _check_report_without_log(report)
    _check_links(store, days=False)


def _check_report_without_log(report: Report) -> None:
    assert (report.read, report.stored) == (len(LINKS), len(EXPECTED))
    assert {r.keyword for r in report.refused} == set(REFUSED)
    assert all(r.where.startswith("line ") for r in report.refused)


@pytest.mark.parametrize("header", [True, False], ids=["header", "no-header"])
def test_a_csv_export_of_the_table(database: str, header: bool) -> None:
    with yourlsdb.connect(database) as conn, conn.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")
        cursor.execute("SELECT keyword, url, title, timestamp, ip, clicks FROM yourls_url")
        rows = cursor.fetchall()
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(["keyword", "url", "title", "timestamp", "ip", "clicks"])
    for row in rows:
        writer.writerow(["" if v is None else str(v) for v in row])
    store = MemoryStore()
    report = import_file(store, io.StringIO(out.getvalue()), format="yourls", now=NOW)
    _check_report_without_log(report)
    _check_links(store, days=False)


def test_bad_rows_of_a_csv_are_reported_and_the_rest_imported() -> None:
    text = (
        "keyword,url,title,timestamp,ip,clicks\n"
        "ok1,https://e.com/1,,2021-01-01 00:00:00,ip,1\n"
        ",https://e.com/2,,2021-01-01 00:00:00,ip,1\n"
        "t,https://e.com/3,,yesterday,ip,1\n"
        "c,https://e.com/4,,2021-01-01 00:00:00,ip,many\n"
        "ok1,https://e.com/5,,2021-01-01 00:00:00,ip,1\n"
        'q,"https://e.com/6\n'
        "ok2,https://e.com/7,,2021-01-02 00:00:00,ip,2\n"
    )
    store = MemoryStore()
    report = import_file(store, io.StringIO(text), format="yourls", now=NOW)
    assert report.stored == 1
    reasons = {r.where: r.reason for r in report.refused}
    assert "keyword column is empty" in reasons["line 3"]
    assert "not a time" in reasons["line 4"]
    assert "clicks must be a whole number" in reasons["line 5"]
    assert "given before, at line 2" in reasons["line 6"]
    # An unclosed quote runs on to the end of the file: that row is refused (its URL
    # holds the line break), named by the line it starts on.
    assert "control character" in reasons["line 7"]
    assert (report.read, len(report.refused)) == (6, 5)
    assert store.get("ok1").url == "https://e.com/1"  # type: ignore[union-attr]


def test_re_running_an_import_changes_nothing(database: str, tmp_path: Path) -> None:
    url = yourlsdb.url_of(database)
    with SQLiteStore(tmp_path / "links.db") as store:
        first = import_database(store, url, now=NOW)
        before = list(store.export())
        again = import_database(store, url, now=NOW)
        assert list(store.export()) == before
    assert (again.stored, again.unchanged) == (0, first.stored)
    assert [str(r) for r in again.refused] == [str(r) for r in first.refused]


def test_a_keyword_the_store_has_for_another_url_is_refused_naming_it() -> None:
    store = MemoryStore()
    import_file(store, io.StringIO("keyword,url\ndocs,https://e.com/mine\n"), format="yourls")
    report = import_file(
        store, io.StringIO("keyword,url\ndocs,https://e.com/theirs\n"), format="yourls"
    )
    (refusal,) = report.refused
    assert "https://e.com/mine" in refusal.reason
    assert store.get("docs").url == "https://e.com/mine"  # type: ignore[union-attr]


def test_the_command_line_imports_a_database_and_lists_by_creation_time(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "links.db")
    assert main(["import", yourlsdb.url_of(database), "--store", store]) == 0
    out, err = capsys.readouterr()
    assert out == f"imported\t{len(EXPECTED)}\nskipped\t0\nrefused\t{len(REFUSED)}\n"
    refused = [line for line in err.splitlines() if line.startswith("minilink: refused: ")]
    assert len(refused) == len(REFUSED)
    assert any("MINILINK_ALLOWED_SCHEMES" in line for line in refused)
    assert any(line.startswith("minilink: note: ") for line in err.splitlines())
    assert main(["list", "--store", store, "--limit", "100"]) == 0
    listed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    # Newest first: "zero" got the import's time; the others their YOURLS times.
    assert [row[0] for row in listed] == list(reversed(EXPECTED))
    created = [row[2] for row in listed]
    assert created == sorted(created, reverse=True)
    # A 100-character keyword answers at its path.
    assert main(["resolve", LONG, "--store", store]) == 0
    assert capsys.readouterr().out == "https://example.org/long\n"


def test_the_command_line_detects_a_dump_and_reports_a_bad_database_url(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = tmp_path / "yourls.sql"
    dump.write_text(yourlsdb.mysqldump(database), encoding="utf-8")
    store = str(tmp_path / "links.db")
    assert main(["import", str(dump), "--store", store]) == 0
    assert capsys.readouterr().out.startswith(f"imported\t{len(EXPECTED)}\n")
    assert main(["import", str(dump), "--store", store]) == 0
    assert capsys.readouterr().out == (
        f"imported\t0\nskipped\t{len(EXPECTED)}\nrefused\t{len(REFUSED)}\n"
    )
    bad = yourlsdb.url_of("no_such_database_here").replace("mysql://root", "mysql://root:pw")
    assert main(["import", bad, "--store", store]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minilink: error: ") and err.count("\n") == 1
    assert ":pw@" not in err and "no_such_database_here" in err
