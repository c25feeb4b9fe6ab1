"""Shortener.update, search and tags, and the option checks they rely on (SPEC 9)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from minilink.core import options, passwords
from minilink.core.errors import BadRequest, Gone, InvalidURL, NotFound, PreconditionFailed
from minilink.core.links import Link, Search
from minilink.core.service import Shortener
from minilink.storage.memory import MemoryStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shortener(clock: Clock) -> Shortener:
    return Shortener(MemoryStore(), clock=clock)


# -- options -----------------------------------------------------------------------


def test_tags_are_lowered_kept_in_order_and_deduplicated() -> None:
    assert options.check_tags(["News", "a-b", "news", "x_1"]) == ("news", "a-b", "x_1")
    assert options.check_tags(None) == ()
    assert options.check_tags([]) == ()


@pytest.mark.parametrize(
    "tags",
    [
        "news",
        [1],
        [""],
        ["a b"],
        ["x" * 33],
        ["\u212a"],  # the Kelvin sign lowers to an ASCII "k"
        [f"t{i}" for i in range(11)],
        ["t"] * 101,
        {"a": 1},
    ],
)
def test_bad_tags_are_refused(tags: object) -> None:
    with pytest.raises(BadRequest):
        options.check_tags(tags)


def test_eleven_spellings_of_ten_tags_are_ten_tags() -> None:
    tags = [f"t{i}" for i in range(10)] + ["T0"]
    assert len(options.check_tags(tags)) == 10


@pytest.mark.parametrize("title", [1, "x" * 201, "a\nb", "a\x00", "\x85", "\ud800"])
def test_bad_titles_are_refused(title: object) -> None:
    with pytest.raises(BadRequest):
        options.check_title(title)


def test_titles_are_stripped_and_blank_is_none() -> None:
    assert options.check_title("  Café ☕  ") == "Café ☕"
    assert options.check_title("   ") is None
    assert options.check_title(None) is None


@pytest.mark.parametrize("status", [True, 200, 303, "301", 301.0, 399])
def test_bad_redirect_statuses_are_refused(status: object) -> None:
    with pytest.raises(BadRequest):
        options.check_redirect_status(status)


def test_redirect_statuses() -> None:
    assert [options.check_redirect_status(s) for s in (301, 302, 307, 308, None)] == [
        301,
        302,
        307,
        308,
        None,
    ]


@pytest.mark.parametrize("value", [1, 0, "true", []])
def test_forward_query_is_a_boolean(value: object) -> None:
    with pytest.raises(BadRequest):
        options.check_forward_query(value)
    assert options.check_forward_query(None) is False


# -- passwords ---------------------------------------------------------------------


@pytest.mark.parametrize("password", ["x", "correct horse", "\ud800\x00é", "p" * 1000])
def test_a_password_matches_its_hash_and_nothing_else(password: str) -> None:
    stored = passwords.hash_password(password)
    assert len(password) < 4 or password not in stored
    assert passwords.check_password(password, stored)
    assert not passwords.check_password(password + "x", stored)
    assert not passwords.check_password("", stored)


def test_each_hash_has_its_own_salt() -> None:
    assert passwords.hash_password("same") != passwords.hash_password("same")


def test_hashes_name_their_parameters() -> None:
    stored = passwords.hash_password("pw", salt=b"\x00" * 16)
    kind, log_n, r, p, salt, key = stored.split("$")
    assert (kind, log_n, r, p) == ("scrypt", "15", "8", "1")
    assert salt == "A" * 22 + "=="
    assert len(key) == 44  # 32 bytes in base64


def test_pbkdf2_hashes_are_read_too() -> None:
    import base64

    salt = b"s" * 16
    key = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000, 32)
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    stored = f"pbkdf2-sha256$1000${b64(salt)}${b64(key)}"
    assert passwords.check_password("pw", stored)
    assert not passwords.check_password("pW", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "scrypt$15$8$1$xx$yy",
        "scrypt$99$8$1$AAAA$AAAA",
        "scrypt$a$8$1$AAAA$AAAA",
        "scrypt$15$8$1$AAAA$",
        "pbkdf2-sha256$0$AAAA$AAAA",
        "pbkdf2-sha256$100$!!$AAAA",
        "md5$abc",
    ],
)
def test_unreadable_hashes_match_nothing(stored: str) -> None:
    assert not passwords.check_password("pw", stored)


@pytest.mark.parametrize("password", [None, 1, "", "p" * 1001, b"pw"])
def test_bad_passwords_are_refused(password: object) -> None:
    with pytest.raises(BadRequest):
        passwords.validate_password(password)
    assert not passwords.check_password(password, passwords.hash_password("pw"))  # type: ignore[arg-type]


# -- creating with options ---------------------------------------------------------


def test_options_at_creation(shortener: Shortener) -> None:
    link = shortener.shorten(
        "https://example.com/",
        title="Example",
        tags=["A"],
        redirect_status=308,
        forward_query=True,
        fallback_url="https://example.com/gone",
        password="secret",
    )
    assert (link.title, link.tags, link.redirect_status, link.forward_query) == (
        "Example",
        ("a",),
        308,
        True,
    )
    assert link.fallback_url == "https://example.com/gone"
    assert link.protected
    assert link.password_hash is not None
    assert passwords.check_password("secret", link.password_hash)
    assert not link.plain
    assert shortener.store.get(link.code) == link


def test_a_link_with_options_is_never_deduplicated(shortener: Shortener) -> None:
    plain = shortener.shorten("https://example.com/")
    titled = shortener.shorten("https://example.com/", title="Mine")
    protected = shortener.shorten("https://example.com/", password="pw")
    assert len({plain.code, titled.code, protected.code}) == 3
    assert shortener.shorten("https://example.com/").code == plain.code


def test_an_unknown_option_is_a_type_error(shortener: Shortener) -> None:
    with pytest.raises(TypeError):
        shortener.shorten("https://example.com/", colour="red")


def test_a_fallback_is_checked_like_a_target(shortener: Shortener) -> None:
    with pytest.raises(InvalidURL):
        shortener.shorten("https://example.com/", fallback_url="javascript:alert(1)")
    with pytest.raises(BadRequest):
        shortener.shorten("https://example.com/", fallback_url=5)
    assert shortener.store.search(Search(now=NOW, state="all")) == []


# -- editing -----------------------------------------------------------------------


def test_an_edit_changes_the_fields_named_and_nothing_else(
    shortener: Shortener, clock: Clock
) -> None:
    link = shortener.shorten("https://example.com/a", max_visits=5, title="A")
    shortener.visit(link.code)
    clock.now = NOW + timedelta(minutes=1)
    edited = shortener.update(link.code, url="https://EXAMPLE.com/b", tags=["x"])
    assert edited.url == "https://example.com/b"
    assert edited.tags == ("x",)
    assert (edited.title, edited.max_visits, edited.hits) == ("A", 5, 1)
    assert (edited.code, edited.created_at) == (link.code, link.created_at)
    assert edited.updated_at == NOW + timedelta(minutes=1)
    assert edited.revision == link.revision + 1
    assert edited.etag != link.etag
    assert shortener.resolve(link.code) == edited


def test_none_clears_a_field(shortener: Shortener) -> None:
    link = shortener.shorten(
        "https://example.com/", title="T", tags=["t"], max_visits=3, password="pw"
    )
    cleared = shortener.update(
        link.code, title=None, tags=None, max_visits=None, password=None, expires_at=None
    )
    assert cleared.title is None
    assert cleared.tags == ()
    assert cleared.max_visits is None
    assert not cleared.protected


def test_a_password_is_set_and_changed_by_an_edit(shortener: Shortener) -> None:
    link = shortener.shorten("https://example.com/")
    first = shortener.update(link.code, password="one")
    second = shortener.update(link.code, password="two")
    assert first.password_hash and second.password_hash
    assert passwords.check_password("two", second.password_hash)
    assert not passwords.check_password("one", second.password_hash)


def test_a_stale_revision_is_refused_and_changes_nothing(shortener: Shortener) -> None:
    link = shortener.shorten("https://example.com/")
    shortener.update(link.code, title="first", revision=link.revision)
    with pytest.raises(PreconditionFailed):
        shortener.update(link.code, title="second", revision=link.revision)
    assert shortener.resolve(link.code).title == "first"


@pytest.mark.parametrize(
    "changes",
    [
        {"url": None},
        {"url": "ftp://example.com/"},
        {"url": 5},
        {"title": "x" * 201},
        {"tags": "one"},
        {"max_visits": 0},
        {"max_visits": True},
        {"redirect_status": 303},
        {"forward_query": "yes"},
        {"fallback_url": "not a url"},
        {"password": ""},
        {"expires_at": "tomorrow"},
        {"expires_at": datetime(2026, 12, 2)},  # naive
        {"expires_at": NOW + timedelta(days=40000)},
        {"code": "other"},
        {"hits": 0},
        {"colour": "red"},
    ],
)
def test_bad_edits_change_nothing(shortener: Shortener, changes: dict[str, object]) -> None:
    link = shortener.shorten("https://example.com/", title="T")
    with pytest.raises(BadRequest):
        shortener.update(link.code, **changes)
    assert shortener.store.get(link.code) == link


def test_a_bad_revision_is_refused(shortener: Shortener) -> None:
    link = shortener.shorten("https://example.com/")
    for revision in (True, "0", 0.0):
        with pytest.raises(BadRequest):
            shortener.update(link.code, title="x", revision=revision)  # type: ignore[arg-type]


def test_edits_of_missing_and_deleted_links(shortener: Shortener) -> None:
    with pytest.raises(NotFound):
        shortener.update("nope", title="x")
    with pytest.raises(NotFound):
        shortener.update("bad code!", title="x")
    link = shortener.shorten("https://example.com/")
    shortener.delete(link.code)
    with pytest.raises(Gone):
        shortener.update(link.code, title="x")


def test_an_expired_link_can_be_revived(shortener: Shortener, clock: Clock) -> None:
    link = shortener.shorten("https://example.com/", expires_in=60)
    clock.now = NOW + timedelta(hours=1)
    with pytest.raises(Gone):
        shortener.resolve(link.code)
    shortener.update(link.code, expires_at=NOW + timedelta(days=1))
    assert shortener.resolve(link.code).code == link.code
    # An expiry in the past is allowed: the link then answers as expired.
    shortener.update(link.code, expires_at=NOW)
    with pytest.raises(Gone):
        shortener.resolve(link.code)


def test_editing_a_url_keeps_the_dedupe_rule(shortener: Shortener) -> None:
    a = shortener.shorten("https://example.com/a")
    b = shortener.shorten("https://example.com/b")
    moved = shortener.update(b.code, url="https://example.com/a")
    assert moved.alias  # kept working under its code, out of the dedupe index
    assert shortener.shorten("https://example.com/a").code == a.code
    # b's old URL is free of plain links now: shortening it makes a new one.
    assert shortener.shorten("https://example.com/b").code not in (a.code, b.code)


def test_an_edit_racing_another_is_applied_on_top_of_it(shortener: Shortener) -> None:
    link = shortener.shorten("https://example.com/")
    store = shortener.store
    real_update = store.update
    raced = []

    def update_after_a_rival(edited: Link) -> Link | None:
        if not raced:  # a rival edit lands between our read and our write
            raced.append(real_update(store.get(link.code).replace(tags=("rival",))))  # type: ignore[union-attr]
        return real_update(edited)

    store.update = update_after_a_rival  # type: ignore[method-assign]
    edited = shortener.update(link.code, title="mine")
    assert (edited.title, edited.tags, edited.revision) == ("mine", ("rival",), 2)


def test_an_edit_that_never_lands_gives_up(shortener: Shortener) -> None:
    link = shortener.shorten("https://example.com/")
    shortener.store.update = lambda edited: None  # type: ignore[method-assign]
    with pytest.raises(PreconditionFailed):
        shortener.update(link.code, title="x")


# -- searching ---------------------------------------------------------------------


def test_search_by_text_tag_state_and_sort(shortener: Shortener, clock: Clock) -> None:
    a = shortener.shorten("https://example.com/apple", title="Fruit", tags=["food"])
    b = shortener.shorten("https://example.org/bread", tags=["food", "bakery"])
    c = shortener.shorten("https://example.net/car", max_visits=1)
    shortener.visit(b.code)
    shortener.visit(c.code)  # used up: expired
    d = shortener.shorten("https://example.com/dead")
    shortener.delete(d.code)
    codes = lambda links: [link.code for link in links]  # noqa: E731
    assert codes(shortener.search()) == [b.code, a.code]
    assert codes(shortener.search(state="expired")) == [c.code]
    assert codes(shortener.search(state="deleted")) == [d.code]
    assert codes(shortener.search(state="all")) == [d.code, c.code, b.code, a.code]
    assert codes(shortener.search("FRUIT")) == [a.code]
    assert codes(shortener.search("example.com", state="all")) == [d.code, a.code]
    assert codes(shortener.search(tag="FOOD")) == [b.code, a.code]
    assert codes(shortener.search(tag="bakery")) == [b.code]
    assert codes(shortener.search(sort="hits", state="all")) == [c.code, b.code, d.code, a.code]
    clock.now = NOW + timedelta(minutes=5)
    shortener.update(a.code, title="Apple")
    assert codes(shortener.search(sort="updated")) == [a.code, b.code]
    assert codes(shortener.search(limit=1, after=b.code)) == [a.code]
    assert shortener.search(after="unknown") == []
    assert shortener.search("") == shortener.search()
    assert shortener.tags() == [("bakery", 1), ("food", 2)]


def test_search_takes_like_wildcards_literally(shortener: Shortener) -> None:
    shortener.shorten("https://example.com/100%25")
    shortener.shorten("https://example.com/a_b")
    shortener.shorten("https://example.com/axb")
    assert [link.url for link in shortener.search("a_b")] == ["https://example.com/a_b"]
    assert len(shortener.search("%")) == 1


@pytest.mark.parametrize(
    "arguments",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": True},
        {"state": "alive"},
        {"sort": "name"},
        {"text": 5},
        {"text": "x" * 1001},
        {"tag": "a b"},
        {"after": 5},
    ],
)
def test_bad_searches_are_refused(shortener: Shortener, arguments: dict[str, object]) -> None:
    with pytest.raises(BadRequest):
        shortener.search(**arguments)  # type: ignore[arg-type]


def test_search_matches_folds_only_ascii() -> None:
    link = Link("Code", "https://example.com/", NOW, title="ÉCOLE")
    assert Search(now=NOW, text="code").matches(link)
    assert Search(now=NOW, text="COLE").matches(link)
    assert not Search(now=NOW, text="école").matches(link)


def test_delete_at_a_revision(shortener: Shortener) -> None:
    link = shortener.create("https://example.com/d", title="one")[0]
    shortener.update(link.code, title="two")
    with pytest.raises(PreconditionFailed, match="revision 1, not 0"):
        shortener.delete(link.code, revision=0)
    assert shortener.resolve(link.code).title == "two"
    shortener.delete(link.code, revision=1)
    with pytest.raises(Gone):
        shortener.resolve(link.code)
    with pytest.raises(Gone):
        shortener.delete(link.code, revision=1)
    with pytest.raises(NotFound):
        shortener.delete("nosuchcode", revision=0)


def test_delete_at_a_revision_loses_to_an_edit_made_after_the_read(shortener: Shortener) -> None:
    """The store's compare-and-set decides, not the read before it."""
    link = shortener.create("https://example.com/race", title="one")[0]
    store = shortener.store
    real_delete = store.delete

    def edit_first(code: str, at: object, **kw: object) -> bool:
        store.update(store.get(code).replace(title="edited meanwhile"))  # type: ignore[union-attr]
        return real_delete(code, at, **kw)  # type: ignore[arg-type]

    store.delete = edit_first  # type: ignore[method-assign]
    with pytest.raises(PreconditionFailed, match="revision 1, not 0"):
        shortener.delete(link.code, revision=0)
    assert shortener.resolve(link.code).title == "edited meanwhile"
