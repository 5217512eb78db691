"""Loading the signing key: from an environment variable, an encrypted keystore or AWS.

A key or keystore password taken from an environment variable is removed from the process
environment once the key is loaded (``os.environ``, the C ``environ`` that child processes
inherit, and, on Linux, the bytes ``/proc/<pid>/environ`` shows), so nothing started later
and nothing reading the process's environment finds it.

Whatever goes wrong, the caller gets a ``KeyUnavailable`` whose message says what is wrong
and where (which variable, file or secret) and never contains the key or the password.
That holds for everything reachable from the exception too: failures are detected in helper
functions, which report them by raising a private exception, and the ``KeyUnavailable`` is
raised afterwards by ``load_key``, outside any ``except`` block and in a frame that holds no
secret. So it has no ``__context__`` or ``__cause__`` (whose messages or attributes could
carry a secret: ``json.JSONDecodeError.doc`` is the whole input, for one), and its traceback
holds no frame whose locals hold a secret (error reporters that capture locals see none).
"""

from __future__ import annotations

import ctypes
import json
import os
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_node.execution.signing import SECP256K1_ORDER

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from shared.config import KeyConfig

KEY_LENGTH = 32
_HEX_DIGITS = frozenset(string.hexdigits)


class KeyUnavailable(Exception):
    """The signing key could not be loaded. The message names the source, never the key."""


@dataclass(frozen=True, slots=True)
class EnvKey:
    """A hex private key (64 digits, with or without 0x) in an environment variable."""

    var: str


@dataclass(frozen=True, slots=True)
class KeystoreKey:
    """An Ethereum encrypted JSON keystore; the password in an env variable or a file.

    A password file's trailing line break is not part of the password.
    """

    path: Path
    password_env: str | None = None
    password_file: Path | None = None

    def __post_init__(self) -> None:
        if (self.password_env is None) == (self.password_file is None):
            raise ValueError(
                f"keystore {self.path}: give exactly one of password_env and password_file"
            )

    @classmethod
    def from_config(cls, key: KeyConfig) -> KeystoreKey:
        assert key.keystore_path is not None  # the config's validation makes sure of it
        if key.password_file is not None:
            return cls(Path(key.keystore_path), password_file=Path(key.password_file))
        return cls(Path(key.keystore_path), password_env=key.password_env)


@dataclass(frozen=True, slots=True)
class SecretsManagerKey:
    """An AWS Secrets Manager secret: the hex key itself, or JSON holding it under ``field``."""

    secret_id: str
    region: str
    field: str | None = None


KeySource = EnvKey | KeystoreKey | SecretsManagerKey


class _Failure(Exception):
    """A failure found by a helper; ``load_key`` turns its message into KeyUnavailable."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def load_key(source: KeySource, *, secrets_client: SecretsManagerClient | None = None) -> bytes:
    """The 32-byte private key from ``source``, validated; KeyUnavailable on any failure.

    ``secrets_client`` is a boto3 Secrets Manager client to use instead of creating one
    (tests inject one; so can a caller with its own session or endpoint).
    """
    try:
        key = _load(source, secrets_client)
    except _Failure as failure:
        message = failure.message
    else:
        for var in _env_secrets(source):
            erase_from_environment(var)
        return key
    # Raised here, outside the except block: no __context__, and no secret in this frame.
    raise KeyUnavailable(message)


def _env_secrets(source: KeySource) -> list[str]:
    if isinstance(source, EnvKey):
        return [source.var]
    if isinstance(source, KeystoreKey) and source.password_env is not None:
        return [source.password_env]
    return []


def erase_from_environment(var: str) -> None:
    """Remove ``var`` from the process environment, its value's bytes overwritten first where
    the C library keeps them (what /proc/<pid>/environ shows for the variables the process
    started with). Python's own copies of the string cannot be wiped; they are dropped."""
    if var not in os.environ:
        return
    if sys.platform == "linux":
        _zero_c_environ_value(var.encode())
    del os.environ[var]  # also unsetenv: children no longer inherit it


def _zero_c_environ_value(name: bytes) -> None:
    try:
        environ = ctypes.POINTER(ctypes.c_void_p).in_dll(ctypes.CDLL(None), "environ")
    except (OSError, ValueError):  # no libc symbol to reach: os.environ's removal still holds
        return
    prefix = name + b"="
    i = 0
    while environ[i]:
        address = environ[i]
        entry = ctypes.string_at(address)
        if entry.startswith(prefix):
            ctypes.memset(address + len(prefix), 0, len(entry) - len(prefix))
        i += 1


def _load(source: KeySource, secrets_client: SecretsManagerClient | None) -> bytes:
    if isinstance(source, EnvKey):
        return _from_env(source)
    if isinstance(source, KeystoreKey):
        return _from_keystore(source)
    if isinstance(source, SecretsManagerKey):
        return _from_secrets_manager(source, secrets_client)
    raise _Failure(f"unknown key source {type(source).__name__}")


def _validated(key: bytes, where: str) -> bytes:
    if len(key) != KEY_LENGTH:
        raise _Failure(f"{where}: the key is {len(key)} bytes, expected {KEY_LENGTH}")
    number = int.from_bytes(key, "big")
    if number == 0:
        raise _Failure(f"{where}: the key is zero")
    if number >= SECP256K1_ORDER:
        raise _Failure(f"{where}: the key is not below the secp256k1 curve order")
    return key


def _from_hex(text: str, where: str) -> bytes:
    digits = text.strip()
    if digits[:2] in ("0x", "0X"):
        digits = digits[2:]
    if not digits:
        raise _Failure(f"{where}: empty")
    if not _HEX_DIGITS.issuperset(digits):
        raise _Failure(f"{where}: not a hex private key (non-hex characters)")
    if len(digits) % 2:
        raise _Failure(f"{where}: odd number of hex digits ({len(digits)}), expected 64")
    return _validated(bytes.fromhex(digits), where)


def _from_env(source: EnvKey) -> bytes:
    where = f"environment variable {source.var}"
    value = os.environ.get(source.var)
    if value is None:
        raise _Failure(f"{where} is not set")
    return _from_hex(value, where)


def _password(source: KeystoreKey, where: str) -> str:
    if source.password_env is not None:
        var = source.password_env
        password = os.environ.get(var)
        if password is None:
            raise _Failure(f"{where}: password environment variable {var} is not set")
        return password
    assert source.password_file is not None  # __post_init__ makes sure of one or the other
    try:
        text = source.password_file.read_text(encoding="utf-8")
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise _Failure(f"{where}: password file {source.password_file}: {reason}") from None
    except UnicodeDecodeError:
        raise _Failure(f"{where}: password file {source.password_file}: not UTF-8") from None
    return text.rstrip("\r\n")


def _from_keystore(source: KeystoreKey) -> bytes:
    where = f"keystore {source.path}"
    password = _password(source, where)
    try:
        document = json.loads(source.path.read_bytes())
    except OSError as err:
        raise _Failure(f"{where}: {err.strerror or type(err).__name__}") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise _Failure(f"{where}: corrupt file (not JSON)") from None
    if not isinstance(document, dict):
        raise _Failure(f"{where}: corrupt file (not a JSON object)")

    from eth_account import Account  # imported here: eth-account is slow to import

    try:
        key = bytes(Account.decrypt(document, password))
    except ValueError:  # MAC mismatch (and malformed hex or parameters, which look alike)
        raise _Failure(f"{where}: wrong password or corrupt file") from None
    except Exception:  # missing fields, unsupported KDF or cipher
        raise _Failure(f"{where}: corrupt or unsupported keystore") from None
    return _validated(key, where)


def _from_secrets_manager(source: SecretsManagerKey, client: SecretsManagerClient | None) -> bytes:
    where = f"secret {source.secret_id}"
    try:
        if client is None:
            import boto3

            client = boto3.client("secretsmanager", region_name=source.region)
        response = client.get_secret_value(SecretId=source.secret_id)
    except Exception as err:
        raise _Failure(f"{where} (region {source.region}): {_aws_reason(err)}") from None

    text = _secret_text(response, where)
    if source.field is None:
        if text.lstrip().startswith("{"):
            raise _Failure(f"{where}: holds JSON; say which field holds the key")
        return _from_hex(text, where)

    try:
        document = json.loads(text)
    except ValueError:
        raise _Failure(f"{where}: not JSON, but field {source.field!r} was asked for") from None
    if not isinstance(document, dict):
        raise _Failure(f"{where}: not a JSON object, but field {source.field!r} was asked for")
    if source.field not in document:
        raise _Failure(f"{where}: field {source.field!r} missing")
    value = document[source.field]
    if not isinstance(value, str):
        raise _Failure(f"{where}: field {source.field!r} is not a string")
    return _from_hex(value, f"{where}: field {source.field!r}")


def _secret_text(response: Any, where: str) -> str:
    text = response.get("SecretString")
    if isinstance(text, str):
        return text
    binary = response.get("SecretBinary")
    if isinstance(binary, bytes):
        try:
            return binary.decode("utf-8")
        except UnicodeDecodeError:
            raise _Failure(f"{where}: binary secret is not UTF-8 text") from None
    raise _Failure(f"{where}: has no SecretString or SecretBinary")


def _aws_reason(err: Exception) -> str:
    """What went wrong talking to AWS, from the error's code and type (no free text)."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            known = {
                "ResourceNotFoundException": "not found",
                "AccessDeniedException": "access denied",
                "DecryptionFailure": "KMS could not decrypt it",
                "InvalidRequestException": "not retrievable (deleted or pending deletion?)",
            }
            return f"{known.get(code, 'request failed')} ({code})"
    return f"cannot reach or call Secrets Manager ({type(err).__name__})"
