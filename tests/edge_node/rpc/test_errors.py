from __future__ import annotations

import pytest

from edge_node.rpc.errors import scrub_url, url_origin

URL = "wss://user:pw@bsc.example.io:99999/v1/APIKEY123?token=T0KEN#frag"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        (URL, "wss://bsc.example.io:99999"),
        ("https://bsc.example.io/v1/APIKEY123", "https://bsc.example.io"),
        ("HTTPS://h?key=APIKEY123", "https://h"),
        ("wss://[::1]:8546/k", "wss://[::1]:8546"),
        ("wss://:443/APIKEY123", "wss://:443"),
        ("wss://h\x00st/APIKEY123", "wss://<bad host>"),
        ("not a url APIKEY123", "<url>"),
    ],
)
def test_url_origin_keeps_scheme_host_and_port_only(url: str, origin: str) -> None:
    assert url_origin(url) == origin


def test_scrub_url_removes_every_secret_part() -> None:
    text = scrub_url(
        f"failed {URL}; again at 'https://other.example/APIKEY123'; "
        "path /v1/APIKEY123?token=T0KEN#frag; user user:pw",
        URL,
    )
    assert "APIKEY123" not in text
    assert "T0KEN" not in text
    assert "user:pw" not in text
    assert "wss://bsc.example.io:99999" in text
    assert "https://other.example" in text


def test_scrub_url_leaves_plain_text_alone() -> None:
    text = "ConnectionResetError(104, 'Connection reset by peer')"
    assert scrub_url(text, "wss://h/") == text
    assert scrub_url(text, URL) == text
