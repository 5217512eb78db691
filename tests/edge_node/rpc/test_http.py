"""HttpRpc's failures: a bad URL is a misconfiguration, and no error text quotes the URL."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from edge_node.rpc.errors import EndpointMisconfigured, EndpointUnavailable
from edge_node.rpc.http import HttpRpc
from edge_node.telemetry import Metrics

SECRET = "APIKEY123"


@pytest.mark.parametrize(
    "url",
    [
        f"https://bsc.example.io:99999/v1/{SECRET}",
        f"https://bsc.example.io:abc/v1/{SECRET}",
        f"https://:443/v1/{SECRET}",
        f"https://user:{SECRET}@[::1/v1",
    ],
)
async def test_a_bad_url_is_misconfigured_and_never_quoted(url: str) -> None:
    rpc = HttpRpc(url, "main", Metrics(), 1.0)
    try:
        with pytest.raises(EndpointMisconfigured) as err:
            await rpc.request("eth_chainId")
    finally:
        await rpc.close()
    text = str(err.value)
    assert text.startswith("main: invalid HTTP URL https://")
    assert SECRET not in text
    assert "/v1" not in text
    assert err.value.__cause__ is None
    assert err.value.__suppress_context__


async def test_the_bad_port_error_keeps_host_and_port() -> None:
    rpc = HttpRpc(f"https://bsc.example.io:99999/v1/{SECRET}", "main", Metrics(), 1.0)
    try:
        with pytest.raises(EndpointMisconfigured, match=r"https://bsc\.example\.io:99999$"):
            await rpc.request("eth_chainId")
    finally:
        await rpc.close()


async def test_transport_errors_quoting_the_url_are_scrubbed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"https://user:pw@bsc.example.io:8545/v1/{SECRET}?key={SECRET}"
    rpc = HttpRpc(url, "main", Metrics(), 1.0)
    info = aiohttp.RequestInfo(URL(url), "POST", CIMultiDictProxy(CIMultiDict()), URL(url))

    def redirected_forever(*_: Any, **__: Any) -> Any:
        raise aiohttp.TooManyRedirects(info, ())  # its text ends in url='<the whole URL>'

    monkeypatch.setattr(rpc._session, "post", redirected_forever)
    try:
        with pytest.raises(EndpointUnavailable) as err:
            await rpc.request("eth_chainId")
    finally:
        await rpc.close()
    text = str(err.value)
    assert "TooManyRedirects" in text
    assert "https://bsc.example.io:8545" in text
    assert SECRET not in text
    assert "pw" not in text
    assert err.value.__cause__ is None
