"""The RPC endpoints JSON (shared/rpc_endpoints.py), one reading for the stack and the probe:
both shapes, what each refuses with which entry or key named, and never a URL quoted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.rpc_endpoints import BadRpcEndpoints, RpcEndpoint, check, parse

KEY = "KEY-RPC-0001"  # in every URL: no message may show it
HTTP = f"https://rpc.example.com/{KEY}"
WS = f"wss://rpc.example.com/ws/{KEY}"


def test_the_nodes_shape_keeps_order_and_both_urls() -> None:
    raw = json.dumps(
        [
            {"name": "primary", "ws_url": WS, "http_url": HTTP},
            {"name": "backup.rpc-2", "http_url": "http://127.0.0.1:8545", "ws_url": None},
        ]
    )
    assert parse(raw) == (
        RpcEndpoint("primary", HTTP, WS),
        RpcEndpoint("backup.rpc-2", "http://127.0.0.1:8545"),
    )
    assert check(json.loads(raw), node_shape=True) == parse(raw)


def test_the_laptops_mapping_is_name_to_http_url() -> None:
    assert parse(json.dumps({"a": HTTP, "b_2": "http://[::1]:8545/"})) == (
        RpcEndpoint("a", HTTP),
        RpcEndpoint("b_2", "http://[::1]:8545/"),
    )
    assert parse("{}") == ()  # no endpoint: the probe has none to compare


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"a": HTTP}, "must be a JSON list of endpoints"),
        ([], "lists no endpoint"),
        ("primary", "must be a JSON list of endpoints"),
    ],
)
def test_the_stack_takes_only_the_nodes_list(value: Any, says: str) -> None:
    with pytest.raises(BadRpcEndpoints, match=says):
        check(value, node_shape=True)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        # a numeric name: refused by both readers (the stack once took str(7))
        (
            [{"name": 7, "http_url": HTTP}],
            "entry 0: name must be a JSON string .*, not a JSON number",
        ),
        ({"7": HTTP, "x": 1}, "endpoint 'x': http_url must be a string, not a JSON number"),
        ([{"http_url": HTTP}], "entry 0 needs a name of 1-64"),
        ([{"name": "ok", "http_url": HTTP}, {"name": "a b", "http_url": HTTP}], "entry 1: name"),
        ([{"name": "x" * 65, "http_url": HTTP}], "entry 0: name must be 1-64"),
        ([{"name": HTTP, "http_url": HTTP}], "entry 0: name must be 1-64"),
        ([{"name": "p", "ws_url": WS}], "endpoint 'p' needs an http_url"),
        ([{"name": "p", "url": HTTP}], r"endpoint 'p' has unknown key\(s\) url"),
        # a URL pasted as a key is counted, not quoted
        ([{"name": "p", "http_url": HTTP, HTTP: ""}], r"unknown key\(s\) 1 more not shown"),
        ([{"name": "p", "http_url": HTTP, "url": "", HTTP: ""}], r"key\(s\) url, 1 more not"),
        # a trailing newline is no name (the node refuses it: so must the stack and the probe)
        ([{"name": "primary\n", "http_url": HTTP}], "entry 0: name must be 1-64"),
        ({"primary\n": HTTP}, "entry 0: name must be 1-64"),
        ([{"name": "p", "http_url": WS}], "endpoint 'p': http_url must start with http://"),
        ([{"name": "p", "http_url": HTTP, "ws_url": HTTP}], "'p': ws_url must start with ws://"),
        ([{"name": "p", "http_url": f"https://rpc.example.com:99999/{KEY}"}], "port must be"),
        ([{"name": "p", "http_url": f"https://rpc.example.com/{KEY} "}], "spaces or control"),
        ([{"name": "p", "http_url": HTTP}, {"name": "p", "http_url": HTTP}], "'p' is named twice"),
        (["primary"], "entry 0 is not an object"),
        (42, "must be a JSON list .* or an object"),
    ],
)
def test_unusable_endpoints_are_named_and_no_url_is_quoted(value: Any, says: str) -> None:
    with pytest.raises(BadRpcEndpoints, match=says) as err:
        parse(json.dumps(value))
    assert KEY not in str(err.value)
    # the stack reads the same way wherever its shape allows the value
    if isinstance(value, list) and value:
        with pytest.raises(BadRpcEndpoints, match=says):
            check(value, node_shape=True)


def test_text_that_is_not_json_is_refused_without_quoting_it() -> None:
    with pytest.raises(BadRpcEndpoints, match="is not JSON") as err:
        parse(f"[{{name: primary, http_url: {HTTP}}}]")
    assert KEY not in str(err.value)
