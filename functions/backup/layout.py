"""Where a backup's objects live: ``<prefix>/<id>/<file>``, and nothing else is ever touched.

An id is the backup's start time in UTC plus a random suffix (``20250101T020000Z-1a2b3c``), so
ids sort by time and two backups started in the same second never share objects. Clean-up and
retention only ever act on keys that parse as ``<prefix>/<id>/<file>`` with such an id: a bucket
shared with other data, or a prefix left empty by mistake, loses nothing else.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

DATA = "data.zst"
MANIFEST = "manifest.json"
VERIFICATION = "verification.json"

_ID = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{6})$")


def new_backup_id(now: datetime) -> str:
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def is_backup_id(text: str) -> bool:
    return _ID.fullmatch(text) is not None


def id_time(backup_id: str) -> datetime:
    m = _ID.fullmatch(backup_id)
    if m is None:
        raise ValueError(f"not a backup id: {backup_id!r}")
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _join(prefix: str, *parts: str) -> str:
    head = prefix.strip("/")
    return "/".join([head, *parts]) if head else "/".join(parts)


def list_prefix(prefix: str) -> str:
    """What to list for every backup under ``prefix`` ("a/b" -> "a/b/", never "a/bc/...")."""
    head = prefix.strip("/")
    return head + "/" if head else ""


def backup_dir(prefix: str, backup_id: str) -> str:
    return _join(prefix, backup_id) + "/"


def key(prefix: str, backup_id: str, name: str) -> str:
    return _join(prefix, backup_id, name)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    backup_id: str
    name: str


def parse_key(prefix: str, object_key: str) -> ParsedKey | None:
    """The backup id and file name of a key under ``prefix``, or None for anything else."""
    head = prefix.strip("/")
    rest = object_key
    if head:
        if not object_key.startswith(head + "/"):
            return None
        rest = object_key[len(head) + 1 :]
    parts = rest.split("/")
    if len(parts) != 2 or not is_backup_id(parts[0]) or not parts[1]:
        return None
    return ParsedKey(parts[0], parts[1])
