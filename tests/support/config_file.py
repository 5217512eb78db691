"""Writing a NodeConfig as a TOML file, for tests that run ``edge-node`` as a process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.config import NodeConfig


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return json.dumps(str(v))  # a TOML basic string is a JSON string for our values


def _table(lines: list[str], header: str, data: dict[str, Any]) -> None:
    lines.append(header)
    lines.extend(f"{k} = {_value(v)}" for k, v in data.items() if v is not None)
    lines.append("")


def to_toml(cfg: NodeConfig) -> str:
    data = cfg.model_dump(mode="json")
    data["api"]["token"] = cfg.api_token()
    lines = [f"websocket = {_value(data.pop('websocket'))}", ""]
    for key in ("chain", "store", "api", "health", "candles"):
        _table(lines, f"[{key}]", data[key])
    for ep in data["endpoints"]:
        _table(lines, "[[endpoints]]", ep)
    for pool in data["pools"]:
        _table(lines, "[[pools]]", pool)
    return "\n".join(lines)


def write_config(cfg: NodeConfig, path: Path) -> Path:
    path.write_text(to_toml(cfg))
    return path
