"""Transaction signing without web3: RLP, keccak and libsecp256k1 (through coincurve).

Every transaction produced here is byte-identical to what ``eth_account`` produces for the
same fields (the tests check this property on random transactions); the difference is cost.
``Account.sign_transaction`` validates and normalises a dict on every call, which takes
hundreds of microseconds; here the fields are already typed integers and bytes, and a
*template* pre-encodes everything that does not change between trades for one destination
(gas limit, ``to``, chain id, the possible ``v`` values), so that signing a trade is a few
byte concatenations, one keccak of the signing payload, one secp256k1 signature (the floor,
about 20 µs) and one keccak of the result (the transaction hash).

Two transaction types:

* legacy with EIP-155 replay protection (what BSC uses): the signing payload is
  ``RLP([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])`` and
  ``v = recovery_id + 35 + 2 * chainId``;
* EIP-1559 (type 2, Ethereum) with an empty access list: the signing payload is
  ``0x02 || RLP([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data,
  []])`` and the transaction ``0x02 || RLP([..., [], yParity, r, s])``.

Integers outside uint256, a ``to`` that is not 20 bytes (no contract creation here) and a
priority fee above the max fee are refused with ValueError before anything is signed
(eth-account would sign the first and last; nodes reject them).

libsecp256k1 always produces low-s signatures (s <= n/2), as Ethereum requires since
Homestead, so no normalisation is needed.

The private key lives only inside a ``coincurve.PrivateKey``; no object here keeps the key
bytes as an attribute of its own, shows them in ``repr``, or can be pickled.

Here: the signer (``TxSigner``) and the self-transfer that cancels a nonce. The templates are
in ``sign_templates``; ``SignedTx`` and the checks on fields in ``signed_tx``; the keccak the
hot path uses in ``fast_keccak``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from coincurve import PrivateKey

from edge_node.chain.keccak import keccak256
from edge_node.execution.fast_keccak import keccak
from edge_node.execution.rlp import encode
from edge_node.execution.sign_templates import Eip1559Template, LegacyTemplate
from edge_node.execution.signed_tx import (
    UINT256_BITS,
    SignedTx,
    bad_uint,
    check_fees,
    check_to,
    checksum_address,
)

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SELF_TRANSFER_GAS = 21_000
EIP1559_TX_TYPE = b"\x02"


class TxSigner:
    """Signs transactions for one account on one chain.

    Holds the key only inside a ``coincurve.PrivateKey``; ``repr`` shows the address and the
    chain, and the object refuses to be pickled or copied (a pickle is a key on disk).
    """

    __slots__ = ("_address", "_address_bytes", "_chain_id", "_key", "_sign")

    def __init__(self, private_key: bytes, chain_id: int) -> None:
        if not isinstance(private_key, bytes) or len(private_key) != 32:
            raise ValueError("a private key is 32 bytes")
        if not 0 < int.from_bytes(private_key, "big") < SECP256K1_ORDER:
            raise ValueError("the private key is zero or not below the secp256k1 order")
        if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
            raise ValueError(f"chain id must be a positive int, got {chain_id!r}")
        if chain_id >> 64:
            raise ValueError(f"chain id {chain_id} does not fit in 64 bits")
        self._key = PrivateKey(private_key)
        self._sign: Callable[..., bytes] = self._key.sign_recoverable
        public = self._key.public_key.format(compressed=False)  # 0x04 || x || y
        self._address_bytes = keccak256(public[1:])[12:]
        self._address = checksum_address(self._address_bytes)
        self._chain_id = chain_id

    @property
    def address(self) -> str:
        """The account's EIP-55 checksummed address."""
        return self._address

    @property
    def address_bytes(self) -> bytes:
        return self._address_bytes

    @property
    def chain_id(self) -> int:
        return self._chain_id

    def __repr__(self) -> str:
        return f"TxSigner(address={self._address}, chain_id={self._chain_id})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a TxSigner holds a private key and cannot be pickled or copied")

    def _signature(self, payload: bytes) -> tuple[int, bytes, bytes]:
        sig = self._sign(keccak(payload), hasher=None)  # r (32) || s (32) || recovery id (1)
        recovery_id = sig[64]
        if recovery_id > 1:  # only when r overflowed the order: probability ~2**-127
            raise RuntimeError("signature with recovery id > 1 cannot be expressed; retry")
        return recovery_id, sig[:32], sig[32:64]

    def sign_legacy(
        self, nonce: int, gas_price: int, gas: int, to: bytes, value: int, data: bytes
    ) -> SignedTx:
        """A legacy transaction with EIP-155 replay protection (BSC)."""
        if (nonce | gas_price | gas | value) >> UINT256_BITS:
            bad_uint(nonce=nonce, gas_price=gas_price, gas=gas, value=value)
        check_to(to)
        fields: list[Any] = [nonce, gas_price, gas, to, value, data]
        recovery_id, r, s = self._signature(encode([*fields, self._chain_id, 0, 0]))
        v = recovery_id + 35 + 2 * self._chain_id
        raw = encode([*fields, v, int.from_bytes(r, "big"), int.from_bytes(s, "big")])
        return SignedTx(raw, keccak(raw), nonce)

    def sign_eip1559(
        self,
        nonce: int,
        max_priority_fee: int,
        max_fee: int,
        gas: int,
        to: bytes,
        value: int,
        data: bytes,
    ) -> SignedTx:
        """A type-2 (EIP-1559) transaction with an empty access list (Ethereum)."""
        if (nonce | max_priority_fee | max_fee | gas | value) >> UINT256_BITS:
            bad_uint(
                nonce=nonce,
                max_priority_fee=max_priority_fee,
                max_fee=max_fee,
                gas=gas,
                value=value,
            )
        check_fees(max_priority_fee, max_fee)
        check_to(to)
        fields: list[Any] = [
            self._chain_id,
            nonce,
            max_priority_fee,
            max_fee,
            gas,
            to,
            value,
            data,
            [],
        ]
        recovery_id, r, s = self._signature(EIP1559_TX_TYPE + encode(fields))
        signed = [*fields, recovery_id, int.from_bytes(r, "big"), int.from_bytes(s, "big")]
        raw = EIP1559_TX_TYPE + encode(signed)
        return SignedTx(raw, keccak(raw), nonce)

    def legacy_template(self, to: bytes, gas: int) -> LegacyTemplate:
        return LegacyTemplate(self, to, gas)

    def eip1559_template(self, to: bytes, gas: int) -> Eip1559Template:
        return Eip1559Template(self, to, gas)


def sign_self_transfer(
    signer: TxSigner,
    nonce: int,
    *,
    gas_price: int | None = None,
    max_fee: int | None = None,
    max_priority_fee: int | None = None,
) -> SignedTx:
    """A zero-value transfer to oneself with 21000 gas: replaces (cancels) a pending nonce.

    Legacy when ``gas_price`` is given, EIP-1559 when ``max_fee`` and ``max_priority_fee``
    are; any other combination is a ValueError.
    """
    own = signer.address_bytes
    if gas_price is not None and max_fee is None and max_priority_fee is None:
        return signer.sign_legacy(nonce, gas_price, SELF_TRANSFER_GAS, own, 0, b"")
    if gas_price is None and max_fee is not None and max_priority_fee is not None:
        return signer.sign_eip1559(nonce, max_priority_fee, max_fee, SELF_TRANSFER_GAS, own, 0, b"")
    raise ValueError(
        "give gas_price (legacy) or both max_fee and max_priority_fee (EIP-1559), not a mix"
    )
