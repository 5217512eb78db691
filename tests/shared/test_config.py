from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.config import ConfigError, load_config, parse_config

POOL = {
    "name": "WBNB-USDT",
    "address": "0x" + "Ab" * 20,
    "token0": "WBNB",
    "token1": "USDT",
    "decimals0": 18,
    "decimals1": 18,
}


def good() -> dict[str, Any]:
    return {
        "chain": {"chain_id": 56, "name": "bsc"},
        "endpoints": [
            {"name": "a", "ws_url": "wss://x.example/ws", "http_url": "https://x.example"}
        ],
        "pools": [dict(POOL)],
        "api": {"token": "a" * 32},
    }


def problems(data: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(data, env=env or {})
    return err.value.problems


def test_a_good_config() -> None:
    cfg = parse_config(good(), env={})
    assert cfg.pools[0].address == "0x" + "ab" * 20  # normalised to lower case
    assert cfg.chain.reorg_window == 64
    assert cfg.api_token() == "a" * 32
    assert cfg.candles.intervals == ["1m", "5m", "1h"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["chain"].pop("chain_id"), "chain.chain_id"),
        (lambda d: d["chain"].update(chain_id=-1), "chain.chain_id"),
        (lambda d: d["pools"][0].update(address="0x123"), "pools.0.address"),
        (lambda d: d["pools"][0].update(address="0x" + "ab" * 20 + "\n"), "pools.0.address"),
        (lambda d: d["pools"][0].update(decimals0=99), "pools.0.decimals0"),
        (lambda d: d["pools"][0].update(kind="v4"), "pools.0.kind"),
        (lambda d: d["endpoints"][0].update(ws_url="http://x"), "endpoints.0.ws_url"),
        (
            lambda d: d["endpoints"][0].pop("ws_url") and d["endpoints"][0].pop("http_url"),
            "endpoints.0",
        ),
        (lambda d: d.update(endpoints=[]), "endpoints"),
        (lambda d: d.update(pools=[]), "pools"),
        (lambda d: d["api"].update(token="short"), "api.token"),
        (lambda d: d.update(candles={"intervals": ["2m"]}), "candles.intervals"),
        (lambda d: d.update(store={"url": "mysql://x"}), "store.url"),
        (lambda d: d["chain"].update(typo_field=1), "chain.typo_field"),
        (lambda d: d["pools"].append(dict(POOL)), "pools"),
    ],
)
def test_bad_fields_are_named(mutate: Any, field: str) -> None:
    d = good()
    mutate(d)
    found = problems(d)
    assert any(p.startswith(field) for p in found), found


def test_a_local_chain_may_not_use_a_public_chain_id() -> None:
    d = good()
    d["chain"].update(local=True, chain_id=56)
    assert any("public network" in p for p in problems(d))


def test_websocket_mode_needs_a_websocket_endpoint() -> None:
    d = good()
    d["endpoints"][0].pop("ws_url")
    assert any("ws_url" in p for p in problems(d))
    d["websocket"] = False
    assert parse_config(d, env={}).websocket is False


def test_secrets_from_the_environment() -> None:
    d = good()
    d["api"].pop("token")
    env = {"EDGE_API_TOKEN": "e" * 20, "EDGE_DATABASE_URL": "postgresql://u:p@db/x"}
    cfg = parse_config(d, env=env)
    assert cfg.api_token() == "e" * 20
    assert cfg.store.url == "postgresql://u:p@db/x"
    assert "e" * 20 not in repr(cfg)  # secrets never show in reprs or logs


def test_load_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("chain = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(binary)


def test_the_documented_example_config_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root / "docs" / "edge.example.toml", env={"EDGE_API_TOKEN": "x" * 20})
    assert cfg.chain.chain_id == 56
    assert [p.name for p in cfg.pools] == ["WBNB-USDT", "WBNB-BUSD", "WBNB-USDT-B"]
    assert cfg.strategy is not None and cfg.strategy.pairs[0].pools == ("WBNB-USDT", "WBNB-USDT-B")
    assert cfg.execution is not None and cfg.execution.key.source == "env"
    assert cfg.control.ssm_parameter == "/edge/bsc/emergency-stop"
    assert cfg.risk.max_consecutive_failures == 3


def test_the_capital_must_be_the_wrapped_native_token() -> None:
    from decimal import Decimal

    pools = [
        {
            "name": n,
            "address": "0x" + a * 20,
            "token0": "WBNB",
            "token1": t,
            "decimals0": 18,
            "decimals1": 18,
            "fee_bps": f,
        }
        for n, a, t, f in (
            ("A", "a1", "USDT", 25),
            ("B", "b2", "USDT", 30),
            ("C", "c3", "BUSD", 25),
            ("D", "d4", "BUSD", 30),
        )
    ]
    data = {
        "chain": {"chain_id": 56, "name": "bsc"},
        "endpoints": [{"name": "a", "ws_url": "ws://127.0.0.1:1", "http_url": "http://h:1"}],
        "pools": pools,
        "strategy": {
            "pairs": [
                {"pools": ["A", "B"], "capital": "WBNB"},
                {"pools": ["C", "D"], "capital": "BUSD"},
            ],
            "min_profit": Decimal("0.001"),
        },
        "execution": {"executor": "0x" + "e1" * 20, "owner": "0x" + "a1" * 20},
    }
    with pytest.raises(ConfigError, match=r"strategy\.pairs\.1\.capital"):
        parse_config(data, env={})


def test_rotating_secrets_from_secrets_manager() -> None:
    d = good()
    d["api"].pop("token")
    env = {"EDGE_API_TOKEN_SECRET_ID": "edge/api-token", "EDGE_DATABASE_SECRET_ID": "edge/db"}
    cfg = parse_config(d, env=env)
    assert cfg.api.token_secret_id == "edge/api-token" and cfg.api_token() is None
    assert cfg.store.secret_id == "edge/db"
    assert cfg.secrets.previous_grace_s == 3600 and cfg.secrets.min_refresh_gap_s == 2
    d["secrets"] = {"region": "eu-west-1", "refresh_s": 60}
    assert parse_config(d, env=env).secrets.region == "eu-west-1"
    assert problems({**d, "secrets": {"region": "Europe"}})[0].startswith("secrets.region")
    assert problems({**d, "secrets": {"refresh_s": 0}})[0].startswith("secrets.refresh_s")
