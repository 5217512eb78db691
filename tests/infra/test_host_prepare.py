"""The edge host's ``prepare.py`` run for real against moto: what it writes for the node is a
config the node accepts, naming the rotating secrets (never holding their values), so the node
follows a rotation without a restart."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.host_boot import _PREPARE, node_config
from shared.config import parse_config
from tests.infra.program import NODE_TOML

REGION = "eu-west-1"
TOKEN = "f" * 64
PASSWORD = "pw-0123456789-secret"
ENDPOINTS = [
    {
        "name": "primary",
        "http_url": "https://rpc.example/v1/KEY123",
        "ws_url": "wss://rpc.example/ws/KEY123",
    }
]


@dataclass(frozen=True)
class Host:
    env: dict[str, str]
    run: Path
    token_arn: str
    db_arn: str
    sm: Any


@pytest.fixture
def host(moto_server: str, tmp_path: Path) -> Host:
    tag = uuid.uuid4().hex[:8]
    sm = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_server)
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=moto_server)
    token_arn = sm.create_secret(Name=f"t-{tag}", SecretString=TOKEN)["ARN"]
    db = {
        "engine": "postgres",
        "host": "db.internal",
        "port": 5432,
        "username": "edge_app",
        "password": PASSWORD,
        "dbname": "edge",
        "sslmode": "require",
    }
    db_arn = sm.create_secret(Name=f"d-{tag}", SecretString=json.dumps(db))["ARN"]
    rpc_arn = sm.create_secret(Name=f"r-{tag}", SecretString=json.dumps(ENDPOINTS))["ARN"]
    template, _ = node_config(
        NODE_TOML,
        ssm_parameter=f"/{tag}/stop",
        region=REGION,
        api_port=8080,
        endpoints=[(e["name"], "ws_url" in e) for e in ENDPOINTS],  # its secret
    )
    ssm.put_parameter(Name=f"/{tag}/config", Value=template, Type="String")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = {
        "PATH": os.environ["PATH"],
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "EDGE_TOKEN_SECRET": token_arn,
        "EDGE_DB_SECRET": db_arn,
        "EDGE_RPC_SECRET": rpc_arn,
        "EDGE_CONFIG_PARAMETER": f"/{tag}/config",
        "RUNTIME_DIRECTORY": str(run),
    }
    return Host(env, run, token_arn, db_arn, sm)


def prepare(host: Host, *args: str) -> None:
    script = host.run.parent / "prepare.py"
    script.write_text(_PREPARE)
    done = subprocess.run(
        [sys.executable, str(script), *args],
        env=host.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def test_the_node_is_given_its_secrets_names_not_their_values(host: Host) -> None:
    prepare(host)
    env, toml = host.run / "env", host.run / "node.toml"
    for path in (env, toml):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert TOKEN not in text and PASSWORD not in text
    variables = env_file(env)
    assert variables == {
        "EDGE_API_TOKEN_SECRET_ID": host.token_arn,
        "EDGE_DATABASE_SECRET_ID": host.db_arn,
    }
    # the config the node is started with (systemd's EnvironmentFile, then --config)
    cfg = parse_config(tomllib.loads(toml.read_text()), str(toml), env=variables)
    assert cfg.api.token is None and cfg.api.token_secret_id == host.token_arn
    assert cfg.store.secret_id == host.db_arn
    assert cfg.secrets.region == REGION
    assert [(e.name, e.http_url, e.ws_url) for e in cfg.endpoints] == [
        (e["name"], e["http_url"], e["ws_url"]) for e in ENDPOINTS
    ]


def test_prometheus_gets_the_current_token(host: Host) -> None:
    target = host.run / "prometheus-token"
    prepare(host, "--token-file", str(target))
    assert target.read_text() == TOKEN
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rotated = "e" * 64
    host.sm.put_secret_value(SecretId=host.token_arn, SecretString=rotated)
    prepare(host, "--token-file", str(target))  # the timer's next run
    assert target.read_text() == rotated
    assert not (host.run / "env").exists()  # the token mode writes nothing else


def test_an_rpc_secret_that_is_no_list_stops_the_start(host: Host) -> None:
    rpc = host.env["EDGE_RPC_SECRET"]
    host.sm.put_secret_value(SecretId=rpc, SecretString=json.dumps({"primary": "x"}))
    script = host.run.parent / "prepare.py"
    script.write_text(_PREPARE)
    done = subprocess.run(
        [sys.executable, str(script)], env=host.env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "the RPC secret must be a JSON list of endpoints" in done.stderr
    assert not (host.run / "env").exists()
