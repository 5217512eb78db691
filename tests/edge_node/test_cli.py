from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge_node.cli import main
from shared.config import parse_config
from tests.support.config_file import write_config

GOOD: dict[str, Any] = {
    "chain": {"chain_id": 56, "name": "bsc"},
    "endpoints": [{"name": "a", "ws_url": "ws://127.0.0.1:1", "http_url": "http://127.0.0.1:1"}],
    "pools": [
        {
            "name": "WBNB-USDT",
            "address": "0x" + "ab" * 20,
            "token0": "WBNB",
            "token1": "USDT",
            "decimals0": 18,
            "decimals1": 18,
        }
    ],
    "api": {"token": "t" * 24, "port": 1},
}


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    data = {**GOOD, "store": {"url": f"sqlite:///{tmp_path}/edge.db"}}
    return write_config(parse_config(data, env={}), tmp_path / "edge.toml")


def test_config_validate_good(config_file: Path) -> None:
    r = cli("config", "validate", str(config_file))
    assert r.exit_code == 0
    assert "ok (chain bsc id 56, 1 endpoints, 1 pools)" in r.output


def test_config_validate_names_each_bad_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
[chain]
chain_id = "fifty-six"
[[endpoints]]
name = "a"
ws_url = "http://wrong-scheme"
[[pools]]
name = "P"
address = "0x12"
token0 = "A"
token1 = "B"
decimals0 = 18
decimals1 = 99
"""
    )
    r = cli("config", "validate", str(bad))
    assert r.exit_code == 2
    for field in ("chain.chain_id", "endpoints.0.ws_url", "pools.0.address", "pools.0.decimals1"):
        assert field in r.output


def test_config_validate_unreadable(tmp_path: Path) -> None:
    r = cli("config", "validate", str(tmp_path / "nope.toml"))
    assert r.exit_code == 2
    assert "cannot read file" in r.output


def test_db_migrate_then_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    from shared.db.engine import head_revision

    head = head_revision()
    first = cli("db", "migrate", "--url", url)
    assert first.exit_code == 0
    assert f"migrated from nothing to {head}" in first.output
    again = cli("db", "migrate", "--url", url)
    assert f"already at {head}" in again.output
    down = CliRunner().invoke(main, ["db", "downgrade", "--url", url, "--to", "base", "--yes"])
    assert down.exit_code == 0
    assert f"downgraded from {head} to nothing" in down.output


@pytest.mark.postgres
def test_db_migrate_with_the_config_migrates_the_store_its_secret_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    """On the edge host the config names a secret (store.secret_id), and store.url keeps its
    default: migrating that default would leave the real store without its schema."""
    from sqlalchemy import inspect

    from shared.db.engine import create_engine, head_revision
    from tests.support.moto_secrets import moto_secretsmanager

    decoy = tmp_path / "decoy.db"
    with moto_secretsmanager(monkeypatch) as sm:
        sm.create_secret(Name="edge/db", SecretString=pg_url)
        data = {
            **GOOD,
            "store": {"url": f"sqlite:///{decoy}", "secret_id": "edge/db"},
            "secrets": {"region": "us-east-1"},
        }
        path = write_config(parse_config(data, env={}), tmp_path / "edge.toml")
        r = cli("db", "migrate", "--config", str(path))
        assert r.exit_code == 0, r.output
        assert "(credentials from secret edge/db): schema migrated from nothing to" in r.output
        assert r.output.rstrip().endswith(head_revision())
        sm.delete_secret(SecretId="edge/db", ForceDeleteWithoutRecovery=True)
        gone = cli("db", "migrate", "--config", str(path))
    assert gone.exit_code == 2 and "store.secret_id" in gone.output, gone.output
    assert not decoy.exists()
    engine = create_engine(pg_url)
    try:
        assert "alembic_version" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_db_migrate_reports_an_unreachable_database() -> None:
    r = cli("db", "migrate", "--url", "postgresql://nobody@127.0.0.1:1/nothing")
    assert r.exit_code == 1
    assert "migration of postgresql+psycopg://nobody@127.0.0.1:1/nothing failed" in r.output


def test_health_of_a_node_that_does_not_answer(config_file: Path) -> None:
    r = cli("health", "--config", str(config_file))
    assert r.exit_code == 1
    assert "does not answer" in r.output


def test_status_falls_back_to_the_store(config_file: Path, tmp_path: Path) -> None:
    cli("db", "migrate", "--url", f"sqlite:///{tmp_path}/edge.db")
    r = cli("status", "--config", str(config_file))
    assert r.exit_code == 1
    assert "does not answer" in r.output
    assert "no checkpoint yet" in r.output


def test_run_refuses_without_an_api_token(tmp_path: Path) -> None:
    data = {**GOOD, "api": {"port": 1}, "store": {"url": f"sqlite:///{tmp_path}/e.db"}}
    path = tmp_path / "no-token.toml"
    path.write_text(
        Path(write_config(parse_config({**data, "api": {"token": "x" * 16}}, env={}), path))
        .read_text()
        .replace('token = "xxxxxxxxxxxxxxxx"', "")
    )
    r = CliRunner(env={"EDGE_API_TOKEN": ""}).invoke(main, ["run", "--config", str(path)])
    assert r.exit_code == 2
    assert "api.token: required" in r.output


def test_pause_resume_and_stop_with_the_node_down_use_the_flags(
    config_file: Path, tmp_path: Path
) -> None:
    """No node answers (port 1), and no node ever ran on the store: the flags are set there
    anyway (the schema created), so that a node starting later starts paused or stopped."""
    from shared import control_flags
    from shared.db.engine import create_engine

    engine = create_engine(f"sqlite:///{tmp_path}/edge.db")
    result = cli("pause", "--config", str(config_file), "--reason", "maintenance")
    assert result.exit_code == 0 and "pause flag set" in result.output
    assert control_flags.read_db_flags(engine).paused
    result = cli("emergency-stop", "--config", str(config_file), "--reason", "drill")
    assert result.exit_code == 0, result.output
    assert "API does not answer" in result.output and "database flag set" in result.output
    assert control_flags.read_db_flags(engine).emergency_stop
    result = cli("resume", "--config", str(config_file))
    assert result.exit_code == 0 and "flags cleared" in result.output
    flags = control_flags.read_db_flags(engine)
    assert not flags.emergency_stop and not flags.paused
    engine.dispose()


def test_emergency_stop_needs_a_reason(config_file: Path) -> None:
    result = CliRunner().invoke(main, ["emergency-stop", "--config", str(config_file)])
    assert result.exit_code == 2 and "--reason" in result.output


def test_trades_from_the_store_when_the_node_does_not_answer(
    config_file: Path, tmp_path: Path
) -> None:
    import json

    from edge_node.execution.journal import Journal
    from shared.db.engine import create_engine, migrate

    engine = create_engine(f"sqlite:///{tmp_path}/edge.db")
    migrate(engine)
    journal = Journal(engine, 56, "0x" + "11" * 20)
    trade = {
        "mode": "live",
        "strategy": "two_pool_arbitrage",
        "pool_buy": "0x" + "ab" * 20,
        "pool_sell": "0x" + "cd" * 20,
        "token_in": "0x" + "ef" * 20,
        "amount_in": 2 * 10**18,
        "expected_profit": 10**16,
        "min_profit": 10**15,
        "gas_limit": 250_000,
        "gas_price": 3 * 10**9,
        "status": "submitted",
        "trigger_block": 7,
        "trigger_log_index": 1,
    }
    journal.record(
        nonce=4, tx_hash="0x" + "99" * 32, raw_tx="0x00", kind="trade", gas_price=1, trade=trade
    )
    engine.dispose()
    r = cli("trades", "--config", str(config_file), "--json")
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.output)
    assert (row["status"], row["nonce"], row["amount_in"]) == ("submitted", 4, str(2 * 10**18))
    r = cli("trades", "--config", str(config_file))
    assert "submitted" in r.output and "0x" + "99" * 32 in r.output


def test_emergency_stop_sets_the_flags_when_something_else_answers_on_the_api_port(
    tmp_path: Path,
) -> None:
    """Not the node's API on its port (a crashed node's port reused, a proxy's error page):
    the CLI must not crash before setting the flags."""
    import socket
    import threading

    from shared import control_flags
    from shared.db.engine import create_engine

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def garbage() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"garbage\r\n\r\n")
            conn.close()

    threading.Thread(target=garbage, daemon=True).start()
    data = {
        **GOOD,
        "api": {"token": "t" * 24, "port": port},
        "store": {"url": f"sqlite:///{tmp_path}/edge.db"},
    }
    path = write_config(parse_config(data, env={}), tmp_path / "edge.toml")
    try:
        result = cli("emergency-stop", "--config", str(path), "--reason", "drill")
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    assert "API does not answer" in result.output and "database flag set" in result.output
    engine = create_engine(f"sqlite:///{tmp_path}/edge.db")
    assert control_flags.read_db_flags(engine).emergency_stop
    engine.dispose()


def test_run_live_without_a_key_says_so_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDGE_SIGNER_KEY", raising=False)
    pool = GOOD["pools"][0]
    data = {
        **GOOD,
        "pools": [pool, {**pool, "name": "WBNB-USDT-B", "address": "0x" + "cd" * 20}],
        "store": {"url": f"sqlite:///{tmp_path}/edge.db"},
        "strategy": {"pairs": [{"pools": ["WBNB-USDT", "WBNB-USDT-B"], "capital": "WBNB"}]},
        "execution": {"executor": "0x" + "e1" * 20, "owner": "0x" + "a1" * 20},
    }
    path = write_config(parse_config(data, env={}), tmp_path / "edge.toml")
    result = CliRunner().invoke(main, ["run", "--config", str(path), "--live"])
    assert result.exit_code == 2, result.output
    assert "no signing key for --live" in result.output and "EDGE_SIGNER_KEY" in result.output
