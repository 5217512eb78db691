"""The node's secrets at start: a secret that cannot be read stops the start with the setting
named (no traceback for an operator's mistake)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_node.api_tokens import SecretTokens, StaticToken
from edge_node.node_secrets import NodeSecrets, connected_url, store_shown
from shared.config import ConfigError, parse_config
from tests.shared.test_config import good
from tests.support.moto_secrets import moto_secretsmanager


@pytest.fixture
def sm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_secretsmanager(monkeypatch) as client:
        yield client


async def test_unreadable_secrets_name_their_setting(sm: Any) -> None:
    d = good()
    d["api"] = {"token_secret_id": "edge/none"}
    d["store"] = {"secret_id": "edge/none-either"}
    cfg = parse_config(d, env={})
    node_secrets = NodeSecrets(cfg, sm)
    with pytest.raises(ConfigError, match=r"store.secret_id: secret 'edge/none-either'"):
        node_secrets.store_engine()
    with pytest.raises(ConfigError, match=r"api.token_secret_id: secret 'edge/none'"):
        await node_secrets.api_authenticator()
    sm.create_secret(Name="edge/none-either", SecretString='{"username": "u"}')
    with pytest.raises(ConfigError, match="lacks username, password or host"):
        node_secrets.store_engine()


async def test_the_token_and_the_store_from_secrets(sm: Any) -> None:
    d = good()
    d["api"] = {"token_secret_id": "edge/api"}
    d["store"] = {"secret_id": "edge/db"}
    sm.create_secret(Name="edge/api", SecretString=secrets.token_hex(32))
    sm.create_secret(
        Name="edge/db",
        SecretString='{"username": "u", "password": "hidden-pw", "host": "db", "dbname": "e"}',
    )
    node_secrets = NodeSecrets(parse_config(d, env={}), sm)
    assert isinstance(await node_secrets.api_authenticator(), SecretTokens)
    engine = node_secrets.store_engine()
    shown = store_shown(node_secrets.cfg, engine)
    assert "hidden-pw" not in shown and "edge/db" in shown and "u:***@db" in shown
    engine.dispose()
    without = good()
    without["api"] = {}
    with pytest.raises(ConfigError, match=r"api\.token: required"):
        await NodeSecrets(parse_config(without, env={}), sm).api_authenticator()
    static = await NodeSecrets(parse_config(good(), env={}), sm).api_authenticator()
    assert isinstance(static, StaticToken)


@pytest.mark.postgres
def test_a_store_from_a_secret_is_the_store_measured(
    sm: Any, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """store.url keeps its SQLite default when the login comes from a secret (the edge host):
    the node measures, and decides on a send log for, the store it is connected to."""
    from edge_node.execution.sendlog import send_log_path
    from edge_node.service import EdgeNode

    monkeypatch.chdir(tmp_path)
    d = good()
    d["store"] = {"secret_id": "edge/db"}
    sm.create_secret(Name="edge/db", SecretString=pg_url)
    node = EdgeNode(parse_config(d, env={}), secrets_client=sm)
    try:
        assert node.cfg.store.url.startswith("sqlite")  # what must not be measured
        assert connected_url(node.engine).startswith("postgresql")
        usage = node.usage.sample()
        assert usage.store_bytes is not None and usage.store_bytes > 0  # pg_database_size
        assert send_log_path(connected_url(node.engine)) is None  # PostgreSQL commits first
        assert not (tmp_path / "data").exists()
    finally:
        node.engine.dispose()


def test_a_secret_without_a_region_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    d = good()
    d["store"] = {"secret_id": "edge/db"}
    with pytest.raises(ConfigError) as err:
        NodeSecrets(parse_config(d, env={})).store_engine()
    assert err.value.problems == ["secrets.region: required to read secrets (or set AWS_REGION)"]
