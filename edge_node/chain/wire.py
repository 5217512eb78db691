"""JSON-RPC objects as they come off the wire, parsed straight into typed structs (msgspec).

msgspec checks types and string lengths in C while it parses, so a field of the wrong type or
size never reaches Python code; what remains to check (hex digits, 0x prefixes, value ranges)
is done by the decoders in ``decode.py``. Unknown fields are ignored: nodes add fields
(``blockTimestamp``, BSC's validator data in ``extraData``) and we must not care.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

Hash = Annotated[str, msgspec.Meta(min_length=66, max_length=66)]
Address = Annotated[str, msgspec.Meta(min_length=42, max_length=42)]
Quantity = Annotated[str, msgspec.Meta(min_length=3, max_length=66)]


class RawLog(msgspec.Struct, frozen=True):
    address: Address
    topics: list[Hash]
    data: str
    block_number: Quantity = msgspec.field(name="blockNumber")
    block_hash: Hash = msgspec.field(name="blockHash")
    transaction_hash: Hash = msgspec.field(name="transactionHash")
    log_index: Quantity = msgspec.field(name="logIndex")
    removed: bool = False


class RawHeader(msgspec.Struct, frozen=True):
    number: Quantity
    hash: Hash
    parent_hash: Hash = msgspec.field(name="parentHash")
    timestamp: Quantity


class LogParams(msgspec.Struct, frozen=True):
    subscription: str
    result: RawLog


class LogNotification(msgspec.Struct, frozen=True):
    """``{"method": "eth_subscription", "params": {"subscription": .., "result": <log>}}``

    ``method`` is not parsed: the subscription id routes the message (a string fewer to
    allocate for every log; measured).
    """

    params: LogParams


class Params(msgspec.Struct, frozen=True):
    subscription: str
    result: msgspec.Raw


class ErrorObject(msgspec.Struct, frozen=True):
    code: int = 0
    message: str = ""
    data: Any = None


class Envelope(msgspec.Struct, frozen=True):
    """Any single JSON-RPC message: an answer (id + result or error) or a notification.

    Results stay raw bytes until the code that asked for them says what type they are.
    """

    id: int | str | None = None
    method: str | None = None
    params: Params | None = None
    result: msgspec.Raw = msgspec.Raw()  # empty when absent (msgspec.Raw cannot be Optional)
    error: ErrorObject | None = None


LOG_NOTIFICATION = msgspec.json.Decoder(LogNotification)
MESSAGE: msgspec.json.Decoder[Envelope | list[Envelope]] = msgspec.json.Decoder(
    Envelope | list[Envelope]
)
LOGS = msgspec.json.Decoder(list[RawLog])
HEADER: msgspec.json.Decoder[RawHeader | None] = msgspec.json.Decoder(RawHeader | None)
RAW_LOG = msgspec.json.Decoder(RawLog)
ANY = msgspec.json.Decoder()

DecodeError = (msgspec.ValidationError, msgspec.DecodeError)
