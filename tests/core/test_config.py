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
    )


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
