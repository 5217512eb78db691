"""Signing templates: transactions from one signer to one address with one gas limit, where
everything that does not change between trades is encoded once (see ``execution.signing``).
The trader signs every trade through one of these: the hot path."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from edge_node.execution.fast_keccak import keccak
from edge_node.execution.rlp import encode_bytes, encode_uint, list_header
from edge_node.execution.signed_tx import (
    UINT256_BITS,
    SignedTx,
    bad_uint,
    check_fees,
    check_to,
    checksum_address,
    rlp_scalar32,
)

if TYPE_CHECKING:
    from edge_node.execution.signing import TxSigner

_EMPTY_ACCESS_LIST = b"\xc0"  # RLP of []
_Y_PARITY = (b"\x80", b"\x01")  # RLP of 0 and 1


class _Template:
    __slots__ = ("_address", "_chain_id", "_gas", "_middle", "_sign", "_to")

    def __init__(self, signer: TxSigner, to: bytes, gas: int) -> None:
        check_to(to)
        if gas >> UINT256_BITS:
            bad_uint(gas=gas)
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
        if (nonce | gas_price | value) >> UINT256_BITS:
            bad_uint(nonce=nonce, gas_price=gas_price, value=value)
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
            (body, self._v[recovery_id], rlp_scalar32(sig[:32]), rlp_scalar32(sig[32:64]))
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
        if (nonce | max_priority_fee | max_fee | value) >> UINT256_BITS:
            bad_uint(nonce=nonce, max_priority_fee=max_priority_fee, max_fee=max_fee, value=value)
        if max_priority_fee > max_fee:
            check_fees(max_priority_fee, max_fee)
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
            (body, _Y_PARITY[recovery_id], rlp_scalar32(sig[:32]), rlp_scalar32(sig[32:64]))
        )
        raw = b"\x02" + list_header(len(signed)) + signed
        return SignedTx(raw, keccak(raw), nonce)
