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


def _is_tables(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _table(lines: list[str], name: str, data: dict[str, Any], array: bool = False) -> None:
    lines.append(f"[[{name}]]" if array else f"[{name}]")
    nested = []
    for k, v in data.items():
        if v is None:
            continue
        if isinstance(v, dict) or _is_tables(v):
            nested.append((k, v))
        else:
            lines.append(f"{k} = {_value(v)}")
    lines.append("")
    for k, v in nested:
        if isinstance(v, dict):
            _table(lines, f"{name}.{k}", v)
        else:
            for item in v:
                _table(lines, f"{name}.{k}", item, array=True)


def to_toml(cfg: NodeConfig) -> str:
    data = cfg.model_dump(mode="json")
    data["api"]["token"] = cfg.api_token()
    lines = [f"websocket = {_value(data.pop('websocket'))}", ""]
    for key, value in data.items():  # every section the config has (secrets, alerts, ...)
        if isinstance(value, dict):
            _table(lines, key, value)
    for ep in data["endpoints"]:
        _table(lines, "endpoints", ep, array=True)
    for pool in data["pools"]:
        _table(lines, "pools", pool, array=True)
    return "\n".join(lines)


def write_config(cfg: NodeConfig, path: Path) -> Path:
    path.write_text(to_toml(cfg))
    return path
