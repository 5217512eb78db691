"""Keccak-256 (Ethereum's pre-standard SHA-3), from pycryptodome's C implementation."""

from Crypto.Hash import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    return bytes(_keccak.new(data=data, digest_bits=256).digest())


def event_topic(signature: str) -> str:
    """The topic0 of an event, as the 0x-prefixed lowercase hex a node sends."""
    return "0x" + keccak256(signature.encode()).hex()
