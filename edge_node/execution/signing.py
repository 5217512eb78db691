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
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from coincurve import PrivateKey

from edge_node.chain.keccak import keccak256
from edge_node.execution.rlp import encode, encode_bytes, encode_uint, list_header

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SELF_TRANSFER_GAS = 21_000
EIP1559_TX_TYPE = b"\x02"
_UINT256_BITS = 256
_EMPTY_ACCESS_LIST = b"\xc0"  # RLP of []
_Y_PARITY = (b"\x80", b"\x01")  # RLP of 0 and 1
_ADDRESS_LENGTH = 20


# --- keccak -------------------------------------------------------------------------------
#
# pycryptodome's public keccak API allocates a hash object and makes four calls into C per
# digest (about 5 µs here, for a 100-byte input). Its C library can also be driven directly:
# one state per thread, reset / absorb / digest, about 1.5 µs. We use that when the library
# looks the way we expect and gives the right answer on known vectors, and the public API
# otherwise. The state is per thread because cffi releases the GIL during C calls. It takes
# bytes only: anything else is a TypeError from cffi, never a wrong digest.

_KECCAK_VECTORS = (
    (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
    (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
    (bytes(range(256)) * 3, ""),  # several blocks: compared with the public API below
)


def _direct_keccak() -> Callable[[bytes], bytes] | None:
    try:
        from Crypto.Hash import keccak as crypto_keccak
        from Crypto.Util import _raw_api

        if getattr(_raw_api, "backend", None) != "cffi":
            return None
        ffi: Any = _raw_api.ffi
        lib: Any = crypto_keccak._raw_keccak_lib  # type: ignore[attr-defined]
        reset, absorb, digest = lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest
    except Exception:  # any other pycryptodome layout: use the public API
        return None

    local = threading.local()

    def new_state() -> tuple[Any, Any, Any]:
        holder = ffi.new("void **")
        if lib.keccak_init(holder, 64, 24):  # capacity 2 * 32 bytes, 24 rounds: Keccak-256
            raise RuntimeError("keccak_init failed")
        state = ffi.gc(holder[0], lib.keccak_destroy)
        out = ffi.new("uint8_t[32]")
        return state, out, ffi.buffer(out)

    def keccak(data: bytes) -> bytes:
        try:
            state, out, view = local.state
        except AttributeError:
            state, out, view = local.state = new_state()
        if reset(state) or absorb(state, data, len(data)) or digest(state, out, 32, 1):
            raise RuntimeError("keccak failed in pycryptodome's C library")
        return bytes(view)

    try:
        for data, expected in _KECCAK_VECTORS:
            got = keccak(data)
            if got != keccak256(data) or (expected and got.hex() != expected):
                return None
    except Exception:
        return None
    return keccak


keccak: Callable[[bytes], bytes] = _direct_keccak() or keccak256


# --- addresses ----------------------------------------------------------------------------


def checksum_address(address: bytes) -> str:
    """EIP-55 mixed-case hex of a 20-byte address."""
    if len(address) != _ADDRESS_LENGTH:
        raise ValueError(f"an address is 20 bytes, not {len(address)}")
    lower = address.hex()
    nibbles = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if n in "89abcdef" else c for c, n in zip(lower, nibbles[:40], strict=True)
    )


def _check_to(to: bytes) -> None:
    if not isinstance(to, bytes) or len(to) != _ADDRESS_LENGTH:
        raise ValueError("'to' must be a 20-byte address (bytes)")


def _bad_uint(**fields: int) -> NoReturn:
    for name, value in fields.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if value < 0 or value >> _UINT256_BITS:
            raise ValueError(f"{name} must be an unsigned 256-bit integer, got {value}")
    raise AssertionError("unreachable: no field was out of range")


# --- signed transactions ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed transaction as sent to ``eth_sendRawTransaction``."""

    raw: bytes
    hash: bytes  # keccak256(raw): the transaction hash nodes and explorers show
    nonce: int

    @property
    def raw_hex(self) -> str:
        return "0x" + self.raw.hex()

    @property
    def hash_hex(self) -> str:
        return "0x" + self.hash.hex()


def _rlp_scalar32(b: bytes) -> bytes:
    """RLP of a 32-byte big-endian integer (r or s): leading zero bytes dropped."""
    if b[0]:
        return b"\xa0" + b
    return encode_bytes(b.lstrip(b"\x00"))


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
        if (nonce | gas_price | gas | value) >> _UINT256_BITS:
            _bad_uint(nonce=nonce, gas_price=gas_price, gas=gas, value=value)
        _check_to(to)
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
        if (nonce | max_priority_fee | max_fee | gas | value) >> _UINT256_BITS:
            _bad_uint(
                nonce=nonce,
                max_priority_fee=max_priority_fee,
                max_fee=max_fee,
                gas=gas,
                value=value,
            )
        _check_fees(max_priority_fee, max_fee)
        _check_to(to)
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


def _check_fees(max_priority_fee: int, max_fee: int) -> None:
    if max_priority_fee > max_fee:
        raise ValueError(
            f"max priority fee {max_priority_fee} is above max fee {max_fee}; nodes reject that"
        )


class _Template:
    __slots__ = ("_address", "_chain_id", "_gas", "_middle", "_sign", "_to")

    def __init__(self, signer: TxSigner, to: bytes, gas: int) -> None:
        _check_to(to)
        if gas >> _UINT256_BITS:
            _bad_uint(gas=gas)
        self._sign = signer._sign
        self._address = signer.address
        self._chain_id = signer.chain_id
        self._to = to
        self._gas = gas
        self._middle = encode_uint(gas) + encode_bytes(to)  # gas and to sit side by side

    @property
    def to(self) -> bytes:
        return self._to

    @property
    def gas(self) -> int:
        return self._gas

    @property
    def chain_id(self) -> int:
        return self._chain_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(signer={self._address}, chain_id={self._chain_id}, "
            f"to={checksum_address(self._to)}, gas={self._gas})"
        )

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a signing template holds a private key and cannot be pickled or copied")


class LegacyTemplate(_Template):
    """Legacy (EIP-155) transactions from one signer to one address with one gas limit.

    Everything but nonce, gas price, value and data is encoded once, here.
    """

    __slots__ = ("_suffix", "_v")

    def __init__(self, signer: TxSigner, to: bytes, gas: int) -> None:
        super().__init__(signer, to, gas)
        chain_id = signer.chain_id
        self._suffix = encode_uint(chain_id) + b"\x80\x80"  # chainId, 0, 0 (EIP-155)
        self._v = (encode_uint(35 + 2 * chain_id), encode_uint(36 + 2 * chain_id))

    def sign(self, nonce: int, gas_price: int, value: int, data: bytes) -> SignedTx:
        if (nonce | gas_price | value) >> _UINT256_BITS:
            _bad_uint(nonce=nonce, gas_price=gas_price, value=value)
        body = (
            encode_uint(nonce)
            + encode_uint(gas_price)
            + self._middle
            + encode_uint(value)
            + encode_bytes(data)
        )
        unsigned = body + self._suffix
        sig = self._sign(keccak(list_header(len(unsigned)) + unsigned), hasher=None)
        recovery_id = sig[64]
        if recovery_id > 1:  # only when r overflowed the order: probability ~2**-127
            raise RuntimeError("signature with recovery id > 1 cannot be expressed; retry")
        signed = b"".join(
            (body, self._v[recovery_id], _rlp_scalar32(sig[:32]), _rlp_scalar32(sig[32:64]))
        )
        raw = list_header(len(signed)) + signed
        return SignedTx(raw, keccak(raw), nonce)


class Eip1559Template(_Template):
    """Type-2 transactions from one signer to one address with one gas limit.

    Everything but nonce, the two fees, value and data is encoded once, here.
    """

    __slots__ = ("_chain",)

    def __init__(self, signer: TxSigner, to: bytes, gas: int) -> None:
        super().__init__(signer, to, gas)
        self._chain = encode_uint(signer.chain_id)

    def sign(
        self, nonce: int, max_priority_fee: int, max_fee: int, value: int, data: bytes
    ) -> SignedTx:
        if (nonce | max_priority_fee | max_fee | value) >> _UINT256_BITS:
            _bad_uint(nonce=nonce, max_priority_fee=max_priority_fee, max_fee=max_fee, value=value)
        if max_priority_fee > max_fee:
            _check_fees(max_priority_fee, max_fee)
        body = b"".join(
            (
                self._chain,
                encode_uint(nonce),
                encode_uint(max_priority_fee),
                encode_uint(max_fee),
                self._middle,
                encode_uint(value),
                encode_bytes(data),
                _EMPTY_ACCESS_LIST,
            )
        )
        sig = self._sign(keccak(b"\x02" + list_header(len(body)) + body), hasher=None)
        recovery_id = sig[64]
        if recovery_id > 1:  # only when r overflowed the order: probability ~2**-127
            raise RuntimeError("signature with recovery id > 1 cannot be expressed; retry")
        signed = b"".join(
            (body, _Y_PARITY[recovery_id], _rlp_scalar32(sig[:32]), _rlp_scalar32(sig[32:64]))
        )
        raw = b"\x02" + list_header(len(signed)) + signed
        return SignedTx(raw, keccak(raw), nonce)


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
