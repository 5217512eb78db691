"""Bad stack configuration stops the program with one clean line (pulumi.RunError)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pulumi
import pytest

from infra.functions import ArtifactsMissing
from infra.settings import BadStackConfig
from tests.infra.program import run

Config = tuple[dict[str, str], list[str]]


def _refused(config: dict[str, str], secrets: list[str], error: type, match: str) -> Any:
    with pytest.raises(error, match=match):
        run(config, secrets)

    async def nothing() -> None:
        await asyncio.sleep(0)

    return nothing()


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_a_secret_stored_in_plain_text_is_refused(stack_config: Config) -> Any:
    config, _ = stack_config
    return _refused(config, ["edge-node:alertChannels"], BadStackConfig, "rpcEndpoints.*plain")


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_missing_artifacts_are_named(stack_config: Config) -> Any:
    config, secrets = stack_config
    config["edge-node:artifactsDir"] = "/nonexistent/dist"
    return _refused(config, secrets, ArtifactsMissing, "make functions")


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_an_admin_range_too_wide_is_refused(stack_config: Config) -> Any:
    config, secrets = stack_config
    config["edge-node:adminCidr"] = "0.0.0.0/0"
    return _refused(config, secrets, BadStackConfig, "adminCidr")


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_an_endpoint_without_http_url_is_refused_without_quoting_it(stack_config: Config) -> Any:
    config, secrets = stack_config
    # the probe asks each endpoint for its head over HTTP: a ws-only endpoint cannot be probed
    config["edge-node:rpcEndpoints"] = json.dumps(
        [{"name": "primary", "ws_url": "wss://rpc.example.com/KEY-RPC-0001"}]
    )
    with pytest.raises(BadStackConfig, match="'primary' needs an http_url") as err:
        run(config, secrets)
    assert "KEY-RPC-0001" not in str(err.value)
    return _nothing()


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_a_numeric_endpoint_name_is_refused_as_the_probe_refuses_it(stack_config: Config) -> Any:
    config, secrets = stack_config
    # both read the secret with shared/rpc_endpoints.py (tests/functions/probe/test_handler.py)
    config["edge-node:rpcEndpoints"] = json.dumps(
        [{"name": 7, "http_url": "https://rpc.example.com/KEY-RPC-0007"}]
    )
    with pytest.raises(BadStackConfig) as err:
        run(config, secrets)
    assert str(err.value) == (
        "edge-node:rpcEndpoints: entry 0: name must be a JSON string of 1-64 letters, digits, "
        "_ . -, not a JSON number"
    )
    return _nothing()


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_websocket_mode_without_a_ws_url_is_refused_at_deploy(stack_config: Config) -> Any:
    config, secrets = stack_config
    # the template says websocket = true; the probe would take these, the node would not start
    config["edge-node:rpcEndpoints"] = json.dumps(
        [{"name": "primary", "http_url": "https://rpc.example.com/KEY-RPC-0001"}]
    )
    with pytest.raises(BadStackConfig, match=r"nodeConfig: the node would refuse it.*ws_url"):
        run(config, secrets)
    return _nothing()


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_an_endpoint_the_node_would_refuse_is_refused_at_deploy(stack_config: Config) -> Any:
    config, secrets = stack_config
    # the host's boot script writes the entry into the node's config, which checks the URL
    config["edge-node:rpcEndpoints"] = json.dumps(
        [{"name": "primary", "http_url": "https://rpc.example.com:99999/KEY-RPC-0001"}]
    )
    with pytest.raises(BadStackConfig, match="'primary': http_url port must be 1-65535") as err:
        run(config, secrets)
    assert "KEY-RPC-0001" not in str(err.value)
    return _nothing()


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_a_bad_alert_email_is_refused(stack_config: Config) -> Any:
    config, secrets = stack_config
    config["edge-node:alertEmail"] = json.dumps({"from": "alerts@example.com", "to": "ops@x.io"})
    return _refused(config, secrets, BadStackConfig, "alertEmail.identityArn")


@pulumi.runtime.test  # type: ignore[untyped-decorator]
@pytest.mark.parametrize("name", ["edge node/1", "edge\n"])
def test_a_bad_node_name_is_refused(stack_config: Config, name: str) -> Any:
    config, secrets = stack_config
    config["edge-node:nodeName"] = name
    return _refused(config, secrets, BadStackConfig, "nodeName")


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_monitoring_releases_are_required(stack_config: Config) -> Any:
    config, secrets = stack_config
    del config["edge-node:monitoring"]
    return _refused(config, secrets, BadStackConfig, "edge-node:monitoring is not set")


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_an_untested_prometheus_is_refused(stack_config: Config) -> Any:
    config, secrets = stack_config
    monitoring = json.loads(config["edge-node:monitoring"])
    monitoring["prometheus"]["url"] = monitoring["prometheus"]["url"].replace("2.53.4", "2.30.0")
    config["edge-node:monitoring"] = json.dumps(monitoring)
    return _refused(config, secrets, BadStackConfig, "monitoring.prometheus: version 2.30.0")


async def _nothing() -> None:
    await asyncio.sleep(0)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_a_missing_secret_is_named(stack_config: Config) -> Any:
    config, secrets = stack_config
    del config["edge-node:rpcEndpoints"]
    return _refused(config, secrets, BadStackConfig, "rpcEndpoints is not set")
