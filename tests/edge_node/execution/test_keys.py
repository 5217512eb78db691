"""Loading the signing key: every source, every failure, and never a secret in an error."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from eth_account import Account
from moto import mock_aws

from edge_node.execution import keys
from edge_node.execution.keys import (
    EnvKey,
    KeystoreKey,
    KeyUnavailable,
    SecretsManagerKey,
    load_key,
)
from edge_node.execution.signing import SECP256K1_ORDER

KEY = bytes.fromhex("8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f")
PASSWORD = "correct horse battery staple"
REGION = "ap-southeast-1"
VAR = "EDGE_SIGNER_KEY"
PW_VAR = "EDGE_KEYSTORE_PASSWORD"


def _forms(secret: bytes | str) -> list[str]:
    if isinstance(secret, str):
        return [secret] if secret else []
    h = secret.hex()
    return [h, h.upper(), "0x" + h, repr(secret)]


def _fail(source: Any, *secrets: bytes | str, client: Any = None) -> str:
    """Load, expect KeyUnavailable, check no secret is reachable from it; its message."""
    with pytest.raises(KeyUnavailable) as info:
        load_key(source, secrets_client=client)
    err = info.value
    # Nothing chained: no library exception (with its message and attributes) rides along.
    assert err.__cause__ is None
    assert err.__context__ is None
    text = "".join(traceback.format_exception(err)) + repr(err) + str(err)
    forms = [form for secret in (*secrets, KEY, PASSWORD) for form in _forms(secret)]
    for form in forms:
        assert form not in text
    # No frame of the loader in the traceback holds a secret (for reporters capturing locals).
    tb = err.__traceback__
    loader_frames = 0
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename == keys.__file__:
            loader_frames += 1
            for value in frame.f_locals.values():
                shown = repr(value)
                for form in forms:
                    assert form not in shown
        tb = tb.tb_next
    assert loader_frames == 1  # load_key's own: the helpers that saw the secret are gone
    return str(err)


# --- environment variable -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [KEY.hex(), "0x" + KEY.hex(), "0X" + KEY.hex().upper(), f"  0x{KEY.hex()}\n"],
)
def test_env_key_loads(monkeypatch, value):
    monkeypatch.setenv(VAR, value)
    assert load_key(EnvKey(VAR)) == KEY


def test_env_missing(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)
    assert _fail(EnvKey(VAR)) == f"environment variable {VAR} is not set"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "empty"),
        ("0x", "empty"),
        (KEY.hex()[:-1] + "g", "non-hex"),
        (KEY.hex()[:30] + " " + KEY.hex()[30:], "non-hex"),
        ("zz" * 32, "non-hex"),
        (KEY.hex()[:-1], "odd number of hex digits"),
        (KEY.hex()[:-2], "31 bytes, expected 32"),
        (KEY.hex() + "00", "33 bytes, expected 32"),
        ("00" * 32, "zero"),
        (SECP256K1_ORDER.to_bytes(32, "big").hex(), "curve order"),
        ((SECP256K1_ORDER + 1).to_bytes(32, "big").hex(), "curve order"),
        ("ff" * 32, "curve order"),
    ],
)
def test_env_bad_values(monkeypatch, value, says):
    monkeypatch.setenv(VAR, value)
    message = _fail(EnvKey(VAR), value.strip())
    assert message.startswith(f"environment variable {VAR}")
    assert says in message


# --- encrypted keystore -------------------------------------------------------------------


@pytest.fixture(params=["scrypt", "pbkdf2"])
def keystore(request, tmp_path: Path) -> Path:
    iterations = 2 if request.param == "scrypt" else 1  # fast parameters: this is a test
    document = Account.encrypt(KEY, PASSWORD, kdf=request.param, iterations=iterations)
    path = tmp_path / "signer.json"
    path.write_text(json.dumps(document))
    return path


def test_keystore_with_password_env(monkeypatch, keystore):
    monkeypatch.setenv(PW_VAR, PASSWORD)
    assert load_key(KeystoreKey(keystore, password_env=PW_VAR)) == KEY


def test_keystore_with_password_file(tmp_path, keystore):
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    assert load_key(KeystoreKey(keystore, password_file=password_file)) == KEY


def test_keystore_wrong_password(monkeypatch, keystore):
    monkeypatch.setenv(PW_VAR, "not the password")
    message = _fail(KeystoreKey(keystore, password_env=PW_VAR), "not the password")
    assert message == f"keystore {keystore}: wrong password or corrupt file"


def test_keystore_missing_password_env(monkeypatch, keystore):
    monkeypatch.delenv(PW_VAR, raising=False)
    message = _fail(KeystoreKey(keystore, password_env=PW_VAR))
    assert message == f"keystore {keystore}: password environment variable {PW_VAR} is not set"


def test_keystore_missing_password_file(tmp_path, keystore):
    missing = tmp_path / "nope"
    message = _fail(KeystoreKey(keystore, password_file=missing))
    assert message.startswith(f"keystore {keystore}: password file {missing}: ")
    assert "No such file" in message


def test_keystore_missing_file(monkeypatch, tmp_path):
    monkeypatch.setenv(PW_VAR, PASSWORD)
    path = tmp_path / "absent.json"
    message = _fail(KeystoreKey(path, password_env=PW_VAR))
    assert message.startswith(f"keystore {path}: ")
    assert "No such file" in message


@pytest.mark.parametrize(
    ("mangle", "says"),
    [
        (lambda text: text[: len(text) // 2], "not JSON"),
        (lambda text: "\xff\xfe garbage", "not JSON"),
        (lambda text: "[1, 2]", "not a JSON object"),
        (lambda text: json.dumps({"version": 3}), "corrupt or unsupported keystore"),
        (
            lambda text: text.replace(json.loads(text)["crypto"]["ciphertext"], "ab" * 32),
            "wrong password or corrupt file",
        ),
        (
            lambda text: text.replace(json.loads(text)["crypto"]["mac"], "zz" * 32),
            "wrong password or corrupt file",
        ),
        (
            lambda text: text.replace(json.loads(text)["crypto"]["kdf"], "argon9"),
            "corrupt or unsupported keystore",
        ),
    ],
)
def test_keystore_corrupt(monkeypatch, keystore, mangle, says):
    monkeypatch.setenv(PW_VAR, PASSWORD)
    keystore.write_text(mangle(keystore.read_text()), encoding="utf-8")
    message = _fail(KeystoreKey(keystore, password_env=PW_VAR))
    assert message.startswith(f"keystore {keystore}: ")
    assert says in message


def test_keystore_needs_exactly_one_password_source(tmp_path):
    with pytest.raises(ValueError, match="exactly one"):
        KeystoreKey(tmp_path / "k.json")
    with pytest.raises(ValueError, match="exactly one"):
        KeystoreKey(tmp_path / "k.json", password_env=PW_VAR, password_file=tmp_path / "p")


# --- AWS Secrets Manager ------------------------------------------------------------------


@pytest.fixture
def secrets(monkeypatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def test_secret_plain_hex(secrets):
    arn = secrets.create_secret(Name="edge/signer", SecretString="0x" + KEY.hex())["ARN"]
    assert load_key(SecretsManagerKey("edge/signer", REGION), secrets_client=secrets) == KEY
    assert load_key(SecretsManagerKey(arn, REGION), secrets_client=secrets) == KEY


def test_secret_client_made_from_region(secrets):
    secrets.create_secret(Name="edge/signer", SecretString=KEY.hex())
    assert load_key(SecretsManagerKey("edge/signer", REGION)) == KEY


def test_secret_json_field(secrets):
    document = json.dumps({"address": "0xabc", "key": KEY.hex()})
    arn = secrets.create_secret(Name="edge/signer", SecretString=document)["ARN"]
    assert load_key(SecretsManagerKey(arn, REGION, field="key"), secrets_client=secrets) == KEY


def test_secret_binary(secrets):
    secrets.create_secret(Name="edge/signer", SecretBinary=KEY.hex().encode())
    assert load_key(SecretsManagerKey("edge/signer", REGION), secrets_client=secrets) == KEY


def test_secret_missing(secrets):
    message = _fail(SecretsManagerKey("edge/absent", REGION), client=secrets)
    assert message.startswith(f"secret edge/absent (region {REGION}): not found")
    assert "ResourceNotFoundException" in message


def test_secret_field_missing(secrets):
    document = json.dumps({"private_key": KEY.hex()})
    arn = secrets.create_secret(Name="edge/signer", SecretString=document)["ARN"]
    message = _fail(SecretsManagerKey(arn, REGION, field="key"), document, client=secrets)
    assert message == f"secret {arn}: field 'key' missing"


def test_secret_not_json_when_field_asked(secrets):
    arn = secrets.create_secret(Name="edge/signer", SecretString=KEY.hex())["ARN"]
    message = _fail(SecretsManagerKey(arn, REGION, field="key"), client=secrets)
    assert message == f"secret {arn}: not JSON, but field 'key' was asked for"


def test_secret_json_when_no_field_asked(secrets):
    document = json.dumps({"key": KEY.hex()})
    secrets.create_secret(Name="edge/signer", SecretString=document)
    message = _fail(SecretsManagerKey("edge/signer", REGION), document, client=secrets)
    assert message == "secret edge/signer: holds JSON; say which field holds the key"


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (json.dumps({"key": 12345}), "field 'key' is not a string"),
        (json.dumps([KEY.hex()]), "not a JSON object"),
        (json.dumps({"key": KEY.hex()[:-2]}), "field 'key': the key is 31 bytes"),
        (json.dumps({"key": "00" * 32}), "field 'key': the key is zero"),
        (json.dumps({"key": "ff" * 32}), "field 'key': the key is not below"),
    ],
)
def test_secret_bad_field_values(secrets, document, says):
    secrets.create_secret(Name="edge/signer", SecretString=document)
    message = _fail(SecretsManagerKey("edge/signer", REGION, field="key"), document, client=secrets)
    assert message.startswith("secret edge/signer: ")
    assert says in message


def test_secret_bad_plain_value(secrets):
    value = KEY.hex()[:-2] + "xy"
    secrets.create_secret(Name="edge/signer", SecretString=value)
    message = _fail(SecretsManagerKey("edge/signer", REGION), value, client=secrets)
    assert message == "secret edge/signer: not a hex private key (non-hex characters)"


def test_secret_network_error(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    unreachable = boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens, connection refused
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}),
    )
    message = _fail(SecretsManagerKey("edge/signer", REGION), client=unreachable)
    assert message.startswith(f"secret edge/signer (region {REGION}): cannot reach")
    assert "EndpointConnectionError" in message


def test_source_repr_has_no_secret(monkeypatch, tmp_path):
    monkeypatch.setenv(VAR, KEY.hex())
    monkeypatch.setenv(PW_VAR, PASSWORD)
    for source in (
        EnvKey(VAR),
        KeystoreKey(tmp_path / "k.json", password_env=PW_VAR),
        SecretsManagerKey("edge/signer", REGION, field="key"),
    ):
        for form in (*_forms(KEY), PASSWORD):
            assert form not in repr(source)
