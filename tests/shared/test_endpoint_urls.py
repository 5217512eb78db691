"""Endpoint URLs are checked fully at load time, and the problems never quote them."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, parse_config
from tests.shared.test_config import good

SECRET = "APIKEY123"


@pytest.mark.parametrize(
    ("field", "url", "problem"),
    [
        ("ws_url", f"wss://bsc.example.io:99999/ws/{SECRET}", "port must be 1-65535"),
        ("ws_url", f"wss://bsc.example.io:0/ws/{SECRET}", "port must be 1-65535"),
        ("ws_url", f"wss://bsc.example.io:abc/ws/{SECRET}", "port that is not a number"),
        ("ws_url", f"wss://:443/ws/{SECRET}", "has no host"),
        ("ws_url", f"wss:///ws/{SECRET}", "has no host"),
        ("ws_url", f"wss://user:{SECRET}@[::1/ws", "not a valid URL"),
        ("ws_url", f"wss://bsc.example.io/ws/{SECRET} ", "spaces or control"),
        ("ws_url", f"https://bsc.example.io/{SECRET}", "must start with ws:// or wss://"),
        ("http_url", f"https://bsc.example.io:99999/v1/{SECRET}", "port must be 1-65535"),
        ("http_url", f"https://bsc.example.io:-1/v1/{SECRET}", "port that is not a number"),
        ("http_url", f"https:/bsc.example.io/v1/{SECRET}", "must start with http://"),
        ("http_url", "https://", "has no host"),
    ],
)
def test_unusable_endpoint_urls_are_refused_by_field(field: str, url: str, problem: str) -> None:
    d = good()
    d["endpoints"][0][field] = url
    with pytest.raises(ConfigError) as err:
        parse_config(d, env={})
    [found] = err.value.problems
    assert found.startswith(f"endpoints.0.{field}: ")
    assert problem in found
    assert SECRET not in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "wss://bsc.example.io:443/ws/APIKEY",
        "ws://127.0.0.1:8546",
        "ws://[::1]:8546/",
        "wss://user:pw@bsc.example.io/ws",
    ],
)
def test_usable_websocket_urls_pass(url: str) -> None:
    d = good()
    d["endpoints"][0]["ws_url"] = url
    assert parse_config(d, env={}).endpoints[0].ws_url == url
