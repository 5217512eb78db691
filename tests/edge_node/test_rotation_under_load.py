"""Proof: the node under load (the demo's traffic on anvil, trades on paper) through two
rotations of its API token and two of its database password, driven step by step as Secrets
Manager drives them (each step delivered twice, one step of each kind interrupted and the
rotation retried), against a moto server (the node has its own boto3 client pointed at it)
and a PostgreSQL that checks passwords:
- zero failed authenticated requests from clients that read the token from Secrets Manager
  (one every half second, one only every 8 s, which therefore rides on AWSPREVIOUS);
- zero lost events (the store equals the chain's swaps);
- zero failed journal writes (every paper trade reaches its final status; no trading error).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import boto3
import psycopg
import pytest
from psycopg import sql

from edge_node.devchain.anvil import Anvil
from edge_node.devchain.arbitrage import deploy_arbitrage
from edge_node.devchain.market import prepare_traders
from edge_node.devchain.traffic import SwapSizing, TrafficGenerator
from edge_node.service import EdgeNode
from functions.common.aws import AwsClients, AwsOptions
from functions.rotation.database import DatabaseRotator
from functions.rotation.staging import STEPS, Step
from shared.config import NodeConfig
from shared.db.credentials import engines_using, login_of
from tests.functions.events import FakeLambdaContext
from tests.support.node import Chain, assert_store_matches_chain, caught_up, running
from tests.support.rotation import SecretsManagerDriver, core_loggers_restored
from tests.support.scram_pg import ScramPostgres
from tests.support.trading import ArbChain, trade_rows

pytestmark = [pytest.mark.chain, pytest.mark.postgres, pytest.mark.slow]

REGION = "us-east-1"
TOKEN_SECRET, DB_SECRET, ADMIN_SECRET = "edge/api-token", "edge/db", "edge/db-admin"
TAG = "edge-ops:secret-kind"
FINAL = {"simulated", "simulation_failed"}


@pytest.fixture
def moto(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    req = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(req, timeout=10).read()  # noqa: S310
    for key, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_REGION", REGION),
        ("POWERTOOLS_TRACE_DISABLED", "true"),
    ):
        monkeypatch.setenv(key, value)
    return moto_server


@dataclass
class Database:
    server: ScramPostgres
    user: str
    dbname: str
    password: str


@pytest.fixture
def database(scram_pg: ScramPostgres) -> Iterator[Database]:
    """A database owned by a fresh role (its clone is created by the first rotation)."""
    tag = uuid.uuid4().hex[:8]
    db = Database(scram_pg, f"edge_{tag}", f"edge_{tag}", secrets.token_hex(12))
    with psycopg.connect(scram_pg.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(db.user), sql.Literal(db.password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(db.dbname), sql.Identifier(db.user)
            )
        )
    yield db
    with psycopg.connect(scram_pg.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.dbname))
        )
        for role in (f"{db.user}_clone", db.user):
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def arb() -> Iterator[ArbChain]:
    anvil = Anvil(chain_id=31337, block_time=None).start()
    try:
        setup = deploy_arbitrage(anvil)  # the demo's market and arbitrage executor
        gapper = prepare_traders(anvil, setup.market, [5])
        yield ArbChain(anvil, setup, gapper)
    finally:
        anvil.stop()


@dataclass
class Client:
    """An API client that reads its token from Secrets Manager every ``every_s``."""

    name: str
    every_s: float
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    token_read_at: float = 0.0  # time.monotonic() of the last read of the token


def _await_token_reads(clients: list[Client], since: float, within: float) -> None:
    """Block until every client has read the token after ``since`` (a fixed sleep races a
    loaded machine: a client still holding a token two rotations old is refused)."""
    deadline = time.monotonic() + within
    while any(c.token_read_at <= since for c in clients):
        assert time.monotonic() < deadline, "a client never read the rotated token"
        time.sleep(0.2)


async def _client_loop(
    client: Client, base: str, read_token: Callable[[], str], stop: asyncio.Event
) -> None:
    read_at = time.monotonic()
    token = await asyncio.to_thread(read_token)
    client.token_read_at = read_at  # when the read began: it sees what was current then
    paths = ["/api/v1/pools", "/api/v1/trades?limit=5", "/health"]
    async with aiohttp.ClientSession() as session:
        i = 0
        while not stop.is_set():
            if time.monotonic() - read_at >= client.every_s:
                read_at = time.monotonic()
                token = await asyncio.to_thread(read_token)
                client.token_read_at = read_at
            path = paths[i % len(paths)]
            i += 1
            try:
                async with session.get(
                    base + path,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as resp:
                    await resp.read()
                    client.statuses[resp.status] += 1
                    # /health answers 503 while the node is not healthy: still authenticated
                    if resp.status not in (200, 503) or (resp.status == 503 and path != "/health"):
                        client.failures.append(f"{path}: {resp.status}")
            except (aiohttp.ClientError, TimeoutError) as err:
                client.failures.append(f"{path}: {type(err).__name__}")
            await asyncio.sleep(0.08)


def _node_config(arb: ArbChain, moto: str) -> NodeConfig:
    from edge_node.demo import node_config_for, trading_sections

    cfg = node_config_for(
        arb.anvil,
        arb.setup.market,
        "sqlite:///unused.db",
        "x" * 32,
        trading=trading_sections(arb.setup),
        liveness_timeout_s=10.0,
        probe_interval_s=0.5,
        request_timeout_s=3.0,
    )
    data = cfg.model_dump()
    data["api"] = {**data["api"], "token": None, "token_secret_id": TOKEN_SECRET}
    data["store"] = {**data["store"], "secret_id": DB_SECRET}
    data["secrets"] = {
        "region": REGION,
        "refresh_s": 5.0,
        "min_refresh_gap_s": 0.5,
        "previous_grace_s": 600.0,
    }
    return NodeConfig.model_validate(data)


def _fail_once_between_label_moves(sm: Any) -> Callable[[], None]:
    """The next finishSecret dies after AWSCURRENT moved, before AWSPENDING is dropped."""
    armed = [True]

    def boom(params: dict[str, Any], **_: Any) -> None:
        if armed[0] and params["VersionStage"] == "AWSPENDING" and "MoveToVersionId" not in params:
            armed[0] = False
            raise ConnectionError("finishSecret interrupted")

    sm.meta.events.register("provide-client-params.secrets-manager.UpdateSecretVersionStage", boom)
    return lambda: sm.meta.events.unregister(
        "provide-client-params.secrets-manager.UpdateSecretVersionStage", boom
    )


def _rotate(
    driver: SecretsManagerDriver,
    secret: str,
    pause: float,
    interrupt: Step | None = None,
    arm: Callable[[], Callable[[], None]] | None = None,
) -> None:
    """One rotation, every step delivered twice; with ``interrupt``, that step fails once
    (``arm`` sets the fault up) and Secrets Manager retries the rotation from createSecret."""
    token = driver.open(secret)
    for step in STEPS:
        if step is interrupt and arm is not None:
            disarm = arm()
            try:
                with pytest.raises((ConnectionError, TimeoutError)):
                    driver.step(secret, token, step)
            finally:
                disarm()
            for again in STEPS[: STEPS.index(step)]:
                driver.step(secret, token, again)
        driver.step(secret, token, step)
        time.sleep(pause)
        driver.step(secret, token, step)
        time.sleep(pause)


def _die_after_set(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Callable[[], None]]:
    def arm() -> Callable[[], None]:
        real = DatabaseRotator._set_password

        def set_then_die(self: DatabaseRotator, *args: Any) -> None:
            real(self, *args)
            raise TimeoutError("Task timed out after the password was set")

        monkeypatch.setattr(DatabaseRotator, "_set_password", set_then_die)
        return lambda: monkeypatch.setattr(DatabaseRotator, "_set_password", real)

    return arm


async def test_rotations_under_load_lose_nothing(
    arb: ArbChain,
    moto: str,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import importlib

    with core_loggers_restored():  # a guard: an import leaves them as they were
        rotation_handler = importlib.import_module("functions.rotation.handler")
    server = database.server
    handler_aws = AwsClients(AwsOptions(region=REGION, endpoint_url=moto))
    monkeypatch.setattr(rotation_handler, "_clients", handler_aws)
    sm = handler_aws.secretsmanager
    sm.create_secret(
        Name=ADMIN_SECRET, SecretString=json.dumps(server.login("postgres", server.admin_password))
    )
    first_login = {
        **server.login(database.user, database.password, database.dbname),
        "masterarn": ADMIN_SECRET,
    }
    sm.create_secret(
        Name=DB_SECRET,
        SecretString=json.dumps(first_login),
        Tags=[{"Key": TAG, "Value": "database"}],
    )
    sm.create_secret(
        Name=TOKEN_SECRET,
        SecretString=secrets.token_hex(32),
        Tags=[{"Key": TAG, "Value": "api-token"}],
    )
    driver = SecretsManagerDriver(
        sm, lambda event: rotation_handler.handler(event, FakeLambdaContext())
    )
    # the node's own client, as on the edge host (the clients' too)
    node_sm = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto)
    client_sm = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto)

    def read_token() -> str:
        value = client_sm.get_secret_value(SecretId=TOKEN_SECRET, VersionStage="AWSCURRENT")
        return str(value["SecretString"])

    arb.anvil.set_interval_mining(1)
    traders = prepare_traders(arb.anvil, arb.setup.market, [1, 2, 3, 4])
    sizing = SwapSizing(
        min_fraction=1e-5, max_fraction=2e-3, large_probability=0.02, large_max_fraction=1e-2
    )
    traffic = TrafficGenerator(
        arb.anvil.http_url, arb.setup.market, traders, rate=15, seed=7, sizing=sizing
    )
    node = EdgeNode(_node_config(arb, moto), secrets_client=node_sm)
    login = login_of(node.engine)
    assert login is not None
    caplog.set_level(logging.WARNING)
    async with running(node):
        assert node.api is not None
        base = f"http://127.0.0.1:{node.api.port}"
        monkeypatch.setenv("EDGE_OPS_NODE_URL", base)  # testSecret asks the node
        stop_load = asyncio.Event()
        fresh, lagging = Client("fresh", 0.5), Client("lagging", 8.0)
        intruder = Client("intruder", 3600.0)
        loads = [
            asyncio.create_task(_client_loop(c, base, read_token, stop_load))
            for c in (fresh, lagging)
        ]
        loads.append(
            asyncio.create_task(
                _client_loop(intruder, base, lambda: secrets.token_hex(32), stop_load)
            )
        )
        traffic.start()
        stop_gaps = asyncio.Event()

        async def open_gaps() -> None:
            while not stop_gaps.is_set():
                await asyncio.to_thread(arb.open_gap, 0.03, True, False)
                await asyncio.sleep(3.0)

        gaps = asyncio.create_task(open_gaps())
        await asyncio.sleep(4)

        def rotations() -> None:
            _rotate(
                driver,
                TOKEN_SECRET,
                0.3,
                Step.FINISH,
                lambda: _fail_once_between_label_moves(sm),
            )
            token_rotated = time.monotonic()
            _rotate(driver, DB_SECRET, 0.3, Step.SET, _die_after_set(monkeypatch))
            # every client has read the new token once before the next rotation
            _await_token_reads([fresh, lagging], since=token_rotated, within=60.0)
            _rotate(driver, TOKEN_SECRET, 0.3)
            _rotate(driver, DB_SECRET, 0.3)
            # The pool's connections are recycled: every new login now needs the new
            # credentials (the first password is gone two rotations later).
            for engine in engines_using(login):
                engine.dispose()

        await asyncio.to_thread(rotations)
        await asyncio.sleep(6)
        stop_gaps.set()
        await gaps
        await asyncio.to_thread(traffic.stop)
        await asyncio.sleep(2)  # in-flight paper trades settle
        await caught_up(node, arb.anvil, within=60)
        stop_load.set()
        await asyncio.gather(*loads)
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"{base}/health", headers={"Authorization": f"Bearer {read_token()}"}) as resp,
        ):
            health = await resp.json()
        async with aiohttp.ClientSession() as s, s.get(f"{base}/prometheus") as resp:
            prometheus = await resp.text() if resp.status == 200 else ""
        chain = Chain(arb.anvil, arb.setup.market, traders)
        swaps = await asyncio.to_thread(
            assert_store_matches_chain, node.engine, chain, arb.anvil.chain_id
        )
        trades = await asyncio.to_thread(trade_rows, node.engine)
        writer_failed = node.writer.failed
        users = await _only_current_user_eventually(database, within=30.0)
    # zero failed authenticated requests
    assert fresh.failures == [] and lagging.failures == []
    assert sum(fresh.statuses.values()) > 100 and sum(lagging.statuses.values()) > 100
    assert set(intruder.statuses) == {401}  # and a wrong token is still refused
    accepted = health["api_tokens"]["accepted"]
    assert accepted.get("AWSPENDING", 0) > 0  # the test steps, before the token was current
    assert accepted.get("AWSPREVIOUS", 0) > 0  # the lagging client after each rotation
    # zero lost events
    assert swaps > 50 and writer_failed is None
    # zero failed journal writes: every paper trade reached its final status
    assert trades, "no paper trade happened"
    assert all(t.mode == "paper" for t in trades)
    assert [t.id for t in trades if t.status not in FINAL] == []
    assert "trading_errors_total{" not in prometheus or all(
        line.endswith(" 0.0")
        for line in prometheus.splitlines()
        if line.startswith("trading_errors_total{")
    )
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [m for m in failures if "trader task failed" in m or "trading error" in m]
    # the database credentials were read again, and the node now logs in as the current user
    current = json.loads(read_value(sm, DB_SECRET))
    assert login.refreshes >= 1
    assert current["username"] == database.user  # two rotations: back to the first role
    assert current["password"] != database.password
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(server.url(database.user, database.password, database.dbname)).close()
    # once the connections checked out during the recycle are returned and closed, only the
    # current credentials are logged in (a snapshot right after the recycle can race them)
    assert users == {database.user}


async def _only_current_user_eventually(database: Database, within: float) -> set[str]:
    """The users logged in to the database, polled until only the first role (current again
    after two rotations) remains or ``within`` seconds pass; the last set seen."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        users = await asyncio.to_thread(_logged_in_users, database)
        if users == {database.user} or asyncio.get_running_loop().time() > deadline:
            return users
        await asyncio.sleep(0.5)


def _logged_in_users(database: Database) -> set[str]:
    with psycopg.connect(database.server.admin_url) as conn:
        rows = conn.execute(
            "SELECT usename FROM pg_stat_activity WHERE datname = %s", (database.dbname,)
        )
        return {str(row[0]) for row in rows}


def read_value(sm: Any, secret: str) -> str:
    return str(sm.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")["SecretString"])
