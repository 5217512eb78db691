"""The lean signer against eth-account: the same bytes, the same hash, for any transaction."""

from __future__ import annotations

import copy
import logging
import pickle
import threading
from typing import Any

import pytest
import rlp as pyrlp  # type: ignore[import-untyped]
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_node.chain.keccak import keccak256
from edge_node.execution import fast_keccak
from edge_node.execution.signed_tx import SignedTx, checksum_address
from edge_node.execution.signing import SECP256K1_ORDER, TxSigner, sign_self_transfer

UINT256_MAX = 2**256 - 1
HALF_ORDER = SECP256K1_ORDER // 2
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")

keys = st.integers(1, SECP256K1_ORDER - 1).map(lambda n: n.to_bytes(32, "big"))
chain_ids = st.one_of(st.sampled_from([56, 1, 31337, 97]), st.integers(1, 2**53))
nonces = st.one_of(st.integers(0, 300), st.integers(0, 2**64 - 2))
prices = st.one_of(
    st.integers(0, 300),
    st.integers(0, 10**12 * 10**9),  # up to 10**12 gwei
    st.sampled_from([127, 128, 255, 256, 2**64, UINT256_MAX]),
)
gases = st.one_of(st.sampled_from([21_000, 150_000, 30_000_000]), st.integers(0, 2**64 - 1))
values = st.one_of(st.just(0), st.integers(0, 10**24), st.integers(0, UINT256_MAX))
addresses = st.binary(min_size=20, max_size=20)
datas = st.one_of(
    st.binary(max_size=600),
    st.sampled_from([b"", b"\x00", b"\x7f", b"\x80", b"\xff", bytes(55), bytes(56)]),
)


def _s_of(raw: bytes) -> int:
    body = raw[1:] if raw[0] == 2 else raw
    return int.from_bytes(pyrlp.decode(body)[-1], "big")


def _check(ours: SignedTx, reference: Any, signer: TxSigner, nonce: int) -> None:
    assert ours.raw == bytes(reference.raw_transaction)
    assert ours.hash == bytes(reference.hash) == keccak256(ours.raw)
    assert ours.nonce == nonce
    assert ours.raw_hex == "0x" + ours.raw.hex()
    assert ours.hash_hex == "0x" + ours.hash.hex()
    assert Account.recover_transaction(ours.raw) == signer.address
    assert 0 < _s_of(ours.raw) <= HALF_ORDER  # low-s, as Ethereum requires


# --- transactions against eth-account -----------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(
    key=keys,
    chain_id=chain_ids,
    nonce=nonces,
    gas_price=prices,
    gas=gases,
    to=addresses,
    value=values,
    data=datas,
)
def test_legacy_matches_eth_account(key, chain_id, nonce, gas_price, gas, to, value, data):
    signer = TxSigner(key, chain_id)
    reference = Account.sign_transaction(
        {
            "nonce": nonce,
            "gasPrice": gas_price,
            "gas": gas,
            "to": to_checksum_address(to),
            "value": value,
            "data": data,
            "chainId": chain_id,
        },
        key,
    )
    plain = signer.sign_legacy(nonce, gas_price, gas, to, value, data)
    templated = signer.legacy_template(to, gas).sign(nonce, gas_price, value, data)
    _check(plain, reference, signer, nonce)
    _check(templated, reference, signer, nonce)
    assert templated == plain


@settings(max_examples=250, deadline=None)
@given(
    key=keys,
    chain_id=chain_ids,
    nonce=nonces,
    fees=st.tuples(prices, prices).map(sorted),
    gas=gases,
    to=addresses,
    value=values,
    data=datas,
)
def test_eip1559_matches_eth_account(key, chain_id, nonce, fees, gas, to, value, data):
    tip, max_fee = fees
    signer = TxSigner(key, chain_id)
    reference = Account.sign_transaction(
        {
            "type": 2,
            "nonce": nonce,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": max_fee,
            "gas": gas,
            "to": to_checksum_address(to),
            "value": value,
            "data": data,
            "chainId": chain_id,
            "accessList": [],
        },
        key,
    )
    assert bytes(reference.raw_transaction)[0] == 2
    plain = signer.sign_eip1559(nonce, tip, max_fee, gas, to, value, data)
    templated = signer.eip1559_template(to, gas).sign(nonce, tip, max_fee, value, data)
    _check(plain, reference, signer, nonce)
    _check(templated, reference, signer, nonce)
    assert templated == plain


@pytest.mark.parametrize("length", [0, 1, 2, 54, 55, 56, 57, 200, 255, 256, 600, 70_000])
@pytest.mark.parametrize("first", [0x00, 0x7F, 0x80, 0xFF])
def test_data_length_boundaries(length, first):
    data = bytes([first]) + bytes(range(256)) * (length // 256 + 1)
    data = data[:length]
    to = bytes(range(20))
    signer = TxSigner(KEY, 56)
    reference = Account.sign_transaction(
        {
            "nonce": 3,
            "gasPrice": 10**9,
            "gas": 300_000,
            "to": to_checksum_address(to),
            "value": 0,
            "data": data,
            "chainId": 56,
        },
        KEY,
    )
    _check(signer.legacy_template(to, 300_000).sign(3, 10**9, 0, data), reference, signer, 3)
    _check(signer.sign_legacy(3, 10**9, 300_000, to, 0, data), reference, signer, 3)


def test_template_reused_for_many_trades():
    signer = TxSigner(KEY, 97)
    to = bytes.fromhex("10ed43c718714eb63d5aa57b78b54704e256024e")
    template = signer.legacy_template(to, 200_000)
    for nonce in range(40):
        data = bytes([nonce]) * nonce
        assert template.sign(nonce, 10**9 + nonce, nonce * 10**15, data) == signer.sign_legacy(
            nonce, 10**9 + nonce, 200_000, to, nonce * 10**15, data
        )


def test_known_vector():
    """A fixed transaction, pinned: catches a change in eth-account as well as in ours."""
    signer = TxSigner(KEY, 56)
    to = bytes.fromhex("3535353535353535353535353535353535353535")
    tx = signer.sign_legacy(9, 20 * 10**9, 21_000, to, 10**18, b"")
    reference = Account.sign_transaction(
        {
            "nonce": 9,
            "gasPrice": 20 * 10**9,
            "gas": 21_000,
            "to": to_checksum_address(to),
            "value": 10**18,
            "data": b"",
            "chainId": 56,
        },
        KEY,
    )
    _check(tx, reference, signer, 9)
    assert tx.hash_hex == "0xeacd8b3ed9cc9a582b4d6ae984df930322519c7b96ac83a45192f8e85b332f17"
    assert signer.address == Account.from_key(KEY).address
    assert signer.address == "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"


# --- cancelling by self-transfer ----------------------------------------------------------


def test_self_transfer_legacy():
    signer = TxSigner(KEY, 56)
    tx = sign_self_transfer(signer, 12, gas_price=6 * 10**9)
    reference = Account.sign_transaction(
        {
            "nonce": 12,
            "gasPrice": 6 * 10**9,
            "gas": 21_000,
            "to": signer.address,
            "value": 0,
            "data": b"",
            "chainId": 56,
        },
        KEY,
    )
    _check(tx, reference, signer, 12)


def test_self_transfer_eip1559():
    signer = TxSigner(KEY, 1)
    tx = sign_self_transfer(signer, 4, max_fee=40 * 10**9, max_priority_fee=2 * 10**9)
    reference = Account.sign_transaction(
        {
            "type": 2,
            "nonce": 4,
            "maxFeePerGas": 40 * 10**9,
            "maxPriorityFeePerGas": 2 * 10**9,
            "gas": 21_000,
            "to": signer.address,
            "value": 0,
            "data": b"",
            "chainId": 1,
            "accessList": [],
        },
        KEY,
    )
    _check(tx, reference, signer, 4)


@pytest.mark.parametrize(
    "fees",
    [
        {},
        {"gas_price": 1, "max_fee": 2, "max_priority_fee": 1},
        {"gas_price": 1, "max_fee": 2},
        {"max_fee": 2},
        {"max_priority_fee": 1},
    ],
)
def test_self_transfer_needs_one_kind_of_fee(fees):
    with pytest.raises(ValueError, match="gas_price"):
        sign_self_transfer(TxSigner(KEY, 56), 0, **fees)


# --- rejected inputs ----------------------------------------------------------------------


def test_rejects_bad_fields():
    signer = TxSigner(KEY, 56)
    to = bytes(20)
    template = signer.legacy_template(to, 21_000)
    t1559 = signer.eip1559_template(to, 21_000)
    with pytest.raises(ValueError, match="nonce"):
        signer.sign_legacy(-1, 1, 21_000, to, 0, b"")
    with pytest.raises(ValueError, match="value"):
        template.sign(0, 1, 2**256, b"")
    with pytest.raises(ValueError, match="gas_price"):
        template.sign(0, -5, 0, b"")
    with pytest.raises(ValueError, match="gas"):
        signer.sign_legacy(0, 1, 2**256, to, 0, b"")
    with pytest.raises(ValueError, match="20-byte"):
        signer.sign_legacy(0, 1, 21_000, bytes(19), 0, b"")
    with pytest.raises(ValueError, match="20-byte"):
        signer.legacy_template("0x" + "00" * 20, 21_000)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="priority fee"):
        signer.sign_eip1559(0, 2, 1, 21_000, to, 0, b"")
    with pytest.raises(ValueError, match="priority fee"):
        t1559.sign(0, 2, 1, 0, b"")
    with pytest.raises(ValueError, match="max_fee"):
        t1559.sign(0, 0, -1, 0, b"")
    with pytest.raises(TypeError):
        template.sign(0, 1.5, 0, b"")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        template.sign(0, 1, 0, "0x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key",
    [b"", bytes(31), bytes(33), bytes(32), SECP256K1_ORDER.to_bytes(32, "big"), b"\xff" * 32],
)
def test_signer_rejects_bad_keys_without_showing_them(key):
    with pytest.raises(ValueError, match="private key") as info:
        TxSigner(key, 56)
    if key:
        assert key.hex() not in str(info.value)


@pytest.mark.parametrize("chain_id", [0, -1, 2**64, True])
def test_signer_rejects_bad_chain_ids(chain_id):
    with pytest.raises(ValueError, match="chain id"):
        TxSigner(KEY, chain_id)


# --- the key stays hidden -----------------------------------------------------------------


def _forms(key: bytes) -> list[str]:
    h = key.hex()
    return [h, h.upper(), "0x" + h, repr(key)]


@settings(max_examples=30, deadline=None)
@given(key=keys)
def test_key_never_in_repr_or_str(key):
    signer = TxSigner(key, 56)
    templates = [signer.legacy_template(bytes(20), 21_000), signer.eip1559_template(bytes(20), 1)]
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "%s %r", (signer, signer), None)
    texts = [repr(signer), str(signer), f"{signer}", f"{signer!r}", record.getMessage()]
    for template in templates:
        texts += [repr(template), str(template)]
    signed = signer.sign_legacy(0, 1, 21_000, bytes(20), 0, b"")
    texts.append(repr(signed))
    for text in texts:
        for form in _forms(key):
            assert form not in text
    assert signer.address in repr(signer)
    assert "chain_id=56" in repr(signer)


def test_no_attribute_holds_key_bytes():
    signer = TxSigner(KEY, 56)
    assert not hasattr(signer, "__dict__")
    for name in TxSigner.__slots__:
        value = getattr(signer, name)
        assert KEY.hex() not in repr(value)
        if isinstance(value, bytes):
            assert KEY not in value


def test_signer_and_templates_refuse_pickling_and_copying():
    signer = TxSigner(KEY, 56)
    for obj in (signer, signer.legacy_template(bytes(20), 21_000)):
        with pytest.raises(TypeError, match="private key"):
            pickle.dumps(obj)
        with pytest.raises(TypeError, match="private key"):
            copy.copy(obj)
        with pytest.raises(TypeError, match="private key"):
            copy.deepcopy(obj)


# --- pieces -------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(address=addresses)
def test_checksum_address(address):
    assert checksum_address(address) == to_checksum_address(address)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=1000))
def test_keccak_fast_path_matches_reference(data):
    assert fast_keccak.keccak(data) == keccak256(data)


def test_fast_keccak_is_in_use_and_thread_safe():
    assert fast_keccak.keccak is not keccak256  # pycryptodome's cffi backend, as pinned
    inputs = [bytes([i]) * (i * 7) for i in range(64)]
    expected = [keccak256(x) for x in inputs]
    failures: list[int] = []

    def work() -> None:
        for _ in range(300):
            for i, x in enumerate(inputs):
                if fast_keccak.keccak(x) != expected[i]:
                    failures.append(i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
