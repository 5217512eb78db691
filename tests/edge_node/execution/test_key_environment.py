"""Secrets taken from the environment leave it once the key is loaded; the keystore's password
file is a config field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from edge_node.execution.keys import EnvKey, KeystoreKey, KeyUnavailable, load_key
from shared.config import ConfigError, KeyConfig, parse_config

KEY = bytes.fromhex("8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f")
PASSWORD = "correct horse battery staple"
VAR = "EDGE_SIGNER_KEY"
ROOT = Path(__file__).resolve().parents[3]


def test_the_key_leaves_os_environ_once_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, KEY.hex())
    assert load_key(EnvKey(VAR)) == KEY
    assert VAR not in os.environ


def test_a_key_that_does_not_load_stays_where_the_operator_put_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(VAR, "not a key")
    with pytest.raises(KeyUnavailable):
        load_key(EnvKey(VAR))
    assert os.environ[VAR] == "not a key"  # nothing was loaded: nothing to protect yet


PROBE = """
import os, subprocess, sys
from edge_node.execution.keys import EnvKey, load_key
key = load_key(EnvKey("EDGE_SIGNER_KEY"))
with open("/proc/self/environ", "rb") as f:
    proc = f.read()
child = subprocess.run(["env"], capture_output=True, check=True).stdout
print(key.hex(), "EDGE_SIGNER_KEY" in os.environ, sys.argv[1].encode() in proc,
      sys.argv[1].encode() in child)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/environ")
def test_the_key_is_gone_from_the_process_environment_and_from_children() -> None:
    secret = KEY.hex()
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), VAR: secret}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, secret],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    assert out == [secret, "False", "False", "False"]


def keystore(tmp_path: Path) -> Path:
    document = Account.encrypt(KEY, PASSWORD, kdf="pbkdf2", iterations=1)
    path = tmp_path / "signer.json"
    path.write_text(json.dumps(document))
    return path


def test_the_keystore_password_variable_leaves_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGE_KEYSTORE_PASSWORD", PASSWORD)
    cfg = KeyConfig(source="keystore", keystore_path=str(keystore(tmp_path)))
    assert load_key(KeystoreKey.from_config(cfg)) == KEY
    assert "EDGE_KEYSTORE_PASSWORD" not in os.environ


def test_the_keystore_password_from_a_file_as_the_config_says(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n")
    cfg = KeyConfig(
        source="keystore", keystore_path=str(keystore(tmp_path)), password_file=str(password)
    )
    assert load_key(KeystoreKey.from_config(cfg)) == KEY


GOOD: dict[str, Any] = {
    "chain": {"chain_id": 56, "name": "bsc"},
    "endpoints": [{"name": "a", "ws_url": "ws://127.0.0.1:1"}],
    "pools": [
        {
            "name": n,
            "address": "0x" + a * 20,
            "token0": "WBNB",
            "token1": "USDT",
            "decimals0": 18,
            "decimals1": 18,
        }
        for n, a in (("A", "a1"), ("B", "b2"))
    ],
    "strategy": {"pairs": [{"pools": ["A", "B"], "capital": "WBNB"}]},
}


def with_key(**key: Any) -> dict[str, Any]:
    execution = {"executor": "0x" + "e1" * 20, "owner": "0x" + "a1" * 20, "key": key}
    return {**GOOD, "execution": execution}


def test_the_config_takes_a_password_file_for_a_keystore() -> None:
    cfg = parse_config(
        with_key(source="keystore", keystore_path="/k.json", password_file="/run/pw"), env={}
    )
    assert cfg.execution is not None and cfg.execution.key.password_file == "/run/pw"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ({"source": "env", "password_file": "/run/pw"}, "needs source keystore"),
        (
            {
                "source": "keystore",
                "keystore_path": "/k.json",
                "password_file": "/run/pw",
                "password_env": "PW",
            },
            "not both",
        ),
        ({"source": "keystore", "keystore_path": "/k.json", "password_file": ""}, "at least 1"),
    ],
)
def test_a_password_file_that_cannot_be_meant_is_refused(key: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(with_key(**key), env={})
    text = "; ".join(err.value.problems)
    assert "execution.key" in text and problem in text
