"""A signed transaction, and what the signer and its templates share: the checks on fields
(uint256 integers, a 20-byte ``to``, fees in order), the RLP of a signature's r and s, and
EIP-55 addresses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from edge_node.chain.keccak import keccak256
from edge_node.execution.rlp import encode_bytes

UINT256_BITS = 256
_ADDRESS_LENGTH = 20


def checksum_address(address: bytes) -> str:
    """EIP-55 mixed-case hex of a 20-byte address."""
    if len(address) != _ADDRESS_LENGTH:
        raise ValueError(f"an address is 20 bytes, not {len(address)}")
    lower = address.hex()
    nibbles = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if n in "89abcdef" else c for c, n in zip(lower, nibbles[:40], strict=True)
    )


def check_to(to: bytes) -> None:
    if not isinstance(to, bytes) or len(to) != _ADDRESS_LENGTH:
        raise ValueError("'to' must be a 20-byte address (bytes)")


def bad_uint(**fields: int) -> NoReturn:
    for name, value in fields.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if value < 0 or value >> UINT256_BITS:
            raise ValueError(f"{name} must be an unsigned 256-bit integer, got {value}")
    raise AssertionError("unreachable: no field was out of range")


def check_fees(max_priority_fee: int, max_fee: int) -> None:
    if max_priority_fee > max_fee:
        raise ValueError(
            f"max priority fee {max_priority_fee} is above max fee {max_fee}; nodes reject that"
        )


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


def rlp_scalar32(b: bytes) -> bytes:
    """RLP of a 32-byte big-endian integer (r or s): leading zero bytes dropped."""
    if b[0]:
        return b"\xa0" + b
    return encode_bytes(b.lstrip(b"\x00"))
