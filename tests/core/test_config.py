"""Config.from_env: every MINILINK_* variable, and clear errors for bad values."""

from __future__ import annotations

import pytest

from minilink import Config


def test_defaults() -> None:
    config = Config.from_env({})
    assert config == Config()
    assert config.store == "minilink.db" and config.redirect_status == 302
    assert config.code_length == 7 and config.max_url_length == 4096
    assert config.max_body_bytes == 65536 and config.allowed_schemes == ("http", "https")


def test_every_variable_is_read() -> None:
    env = {
        "MINILINK_STORE": "memory:",
        "MINILINK_BASE_URL": "https://sho.rt/s/",
        "MINILINK_REDIRECT_STATUS": "308",
        "MINILINK_CODE_LENGTH": "9",
        "MINILINK_CODE_ALPHABET": "abc123",
        "MINILINK_ADMIN_TOKEN": "adm",
        "MINILINK_CREATE_TOKEN": "crt",
        "MINILINK_MAX_URL_LENGTH": "100",
        "MINILINK_MAX_BODY_BYTES": "1000",
        "MINILINK_ALLOWED_SCHEMES": "HTTPS, ftp",
        "MINILINK_BLOCKED_HOSTS": "Evil.example,spam.example",
        "MINILINK_RATE_LIMIT": "5/10",
        "MINILINK_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16",
        "MINILINK_CRAWLERS": "Bot1,Bot2",
        "MINILINK_HIT_FLUSH_SECONDS": "0.5",
        "MINILINK_ADMIN_SESSION_HOURS": "3",
        "MINILINK_YOURLS_USERS": "alice:pw:with:colons, bob:b0b",
        "MINILINK_YOURLS_SIGNATURE": "1002a612b4",
        "MINILINK_SHLINK_API_KEYS": "key-1, key-2",
    }
    assert set(env) == set(Config.variables())
    config = Config.from_env(env)
    assert config == Config(
        store="memory:",
        base_url="https://sho.rt/s",
        redirect_status=308,
        code_length=9,
        code_alphabet="abc123",
        admin_token="adm",
        create_token="crt",
        max_url_length=100,
        max_body_bytes=1000,
        allowed_schemes=("https", "ftp"),
        blocked_hosts=("evil.example", "spam.example"),
        rate_limit=5,
        rate_window=10,
        trusted_proxies=("10.0.0.1", "192.168.0.0/16"),
        crawlers=("Bot1", "Bot2"),
        hit_flush_seconds=0.5,
        admin_session_hours=3,
        yourls_users=(("alice", "pw:with:colons"), ("bob", "b0b")),
        yourls_signature="1002a612b4",
        shlink_api_keys=("key-1", "key-2"),
    )


@pytest.mark.parametrize("value", ["alice", ":pw", "alice:"])
def test_bad_yourls_users(value: str) -> None:
    with pytest.raises(ValueError, match="MINILINK_YOURLS_USERS"):
        Config.from_env({"MINILINK_YOURLS_USERS": value})


@pytest.mark.parametrize("value", ["0", "off", "OFF"])
def test_rate_limit_off(value: str) -> None:
    assert Config.from_env({"MINILINK_RATE_LIMIT": value}).rate_limit == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MINILINK_REDIRECT_STATUS", "200"),
        ("MINILINK_REDIRECT_STATUS", "abc"),
        ("MINILINK_CODE_LENGTH", "1"),
        ("MINILINK_CODE_LENGTH", "99"),
        ("MINILINK_CODE_ALPHABET", "aab"),
        ("MINILINK_CODE_ALPHABET", "a/b"),
        ("MINILINK_MAX_BODY_BYTES", "0"),
        ("MINILINK_RATE_LIMIT", "fast"),
        ("MINILINK_RATE_LIMIT", "5/0"),
        ("MINILINK_ADMIN_TOKEN", "has space"),
        ("MINILINK_HIT_FLUSH_SECONDS", "soon"),
        ("MINILINK_HIT_FLUSH_SECONDS", "99"),
    ],
    ids=lambda v: str(v),
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Config.from_env({name: value})


# -- MINILINK_BASE_URL: an absolute http(s) URL, or short URLs come out relative --------

GOOD_BASE_URLS = {
    "host": ("https://sho.rt", "https://sho.rt"),
    "http": ("http://sho.rt", "http://sho.rt"),
    "path-prefix": ("https://example.com/s", "https://example.com/s"),
    "trailing-slashes-dropped": ("https://sho.rt/s//", "https://sho.rt/s"),
    "port": ("http://127.0.0.1:8000/go", "http://127.0.0.1:8000/go"),
    "ipv6-literal": ("http://[::1]:8000", "http://[::1]:8000"),
    "scheme-case": ("HTTPS://Sho.RT", "HTTPS://Sho.RT"),
    "percent-encoded-path": ("https://sho.rt/a%20b", "https://sho.rt/a%20b"),
    "underscore-host": ("http://my_service:8080", "http://my_service:8080"),
}


@pytest.mark.parametrize(("value", "kept"), list(GOOD_BASE_URLS.values()), ids=list(GOOD_BASE_URLS))
def test_base_url_accepted(value: str, kept: str) -> None:
    assert Config.from_env({"MINILINK_BASE_URL": value}).base_url == kept


BAD_BASE_URLS = {
    "no-scheme": "sho.rt",
    "no-scheme-with-path": "sho.rt/s",
    "scheme-relative": "//sho.rt",
    "no-host": "https://",
    "other-scheme": "ftp://sho.rt",
    "javascript": "javascript:alert(1)",
    "user-info": "https://user@sho.rt",
    "password": "https://user:pw@sho.rt",
    "query": "https://sho.rt/?x=1",
    "fragment": "https://sho.rt/#top",
    "port-zero": "https://sho.rt:0",
    "port-too-big": "https://sho.rt:65536",
    "port-not-a-number": "https://sho.rt:http",
    "space-in-path": "https://sho.rt/a b",
    "non-ascii-host": "https://bücher.example",
    "non-ascii-path": "https://sho.rt/ä",
    "bad-ipv6": "http://[::g]",
    "empty-label": "https://sho..rt",
    "backslash": "https://sho.rt\\s",
    "bad-percent": "https://sho.rt/%zz",
}


@pytest.mark.parametrize("value", list(BAD_BASE_URLS.values()), ids=list(BAD_BASE_URLS))
def test_base_url_refused(value: str) -> None:
    with pytest.raises(ValueError, match="MINILINK_BASE_URL must be an absolute http") as error:
        Config.from_env({"MINILINK_BASE_URL": value})
    assert repr(value) in str(error.value)  # the message quotes what was written
    with pytest.raises(ValueError, match="MINILINK_BASE_URL"):
        Config(base_url=value)


def test_base_url_built_with_a_trailing_slash_is_refused() -> None:
    # from_env drops trailing slashes; a Config built in code must not have one, or
    # every short URL would have "//" before its code.
    with pytest.raises(ValueError, match="must not end in '/'"):
        Config(base_url="https://sho.rt/")
    assert Config(base_url="https://sho.rt").base_url == "https://sho.rt"


# -- MINILINK_TRUSTED_PROXIES: addresses and networks only, never skipped ---------------


@pytest.mark.parametrize(
    "value",
    ["127.0.0.1", "10.0.0.0/8", "10.0.0.1/8", "::1", "2001:db8::/32", "10.0.0.1, ::1"],
)
def test_trusted_proxies_accepted(value: str) -> None:
    expected = tuple(v.strip() for v in value.split(","))
    assert Config.from_env({"MINILINK_TRUSTED_PROXIES": value}).trusted_proxies == expected


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("notanip", "notanip"),
        ("localhost", "localhost"),
        ("10.0.0.1, proxy.internal", "proxy.internal"),
        ("10.0.0.0/33", "10.0.0.0/33"),
        ("10.0.0", "10.0.0"),
        ("::g", "::g"),
    ],
)
def test_trusted_proxies_refused(value: str, quoted: str) -> None:
    with pytest.raises(ValueError, match="MINILINK_TRUSTED_PROXIES") as error:
        Config.from_env({"MINILINK_TRUSTED_PROXIES": value})
    assert repr(quoted) in str(error.value)
    with pytest.raises(ValueError, match="MINILINK_TRUSTED_PROXIES"):
        Config(trusted_proxies=(quoted,))


def test_default_config_needs_neither_re_nor_ipaddress() -> None:
    """Every CGI request builds a Config: the checks above must not import their
    modules when the variables are unset."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; from minilink.core.config import Config; Config.from_env({}); "
        "print(sorted({'re', 'ipaddress'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],  # -S: no site, whose .pth files import re
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.stdout.strip() == "[]"
