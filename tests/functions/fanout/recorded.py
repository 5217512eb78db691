"""The recorded payloads under tests/functions/events/ (fan-out's, prefixed ``fanout_``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"


def recorded(name: str) -> Any:
    return json.loads((EVENTS / f"fanout_{name}.json").read_text())
