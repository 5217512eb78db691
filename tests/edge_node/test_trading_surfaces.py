"""The strategy reload: one path for the API and SIGHUP, run where the strategy is used."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from edge_node.cli.running import reload_on_signal
from edge_node.service import EdgeNode
from shared.config import NodeConfig, load_config
from tests.support.config_file import write_config

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "edge.example.toml"


def example_config(sqlite_url: str) -> NodeConfig:
    cfg = load_config(EXAMPLE, env={"EDGE_API_TOKEN": "t" * 24, "EDGE_DATABASE_URL": sqlite_url})
    assert cfg.strategy is not None
    return cfg


async def test_api_and_sighup_reloads_run_one_at_a_time_on_the_event_loop(
    sqlite_url: str, tmp_path: Path, capsys: Any
) -> None:
    cfg = example_config(sqlite_url)
    path = write_config(cfg, tmp_path / "edge.toml")
    node = EdgeNode(cfg, config_path=path)
    assert node.desk is not None
    desk = node.desk
    loop_thread = threading.get_ident()
    threads: list[int] = []
    active = [0, 0]  # now, most at once
    real_reload = desk.reload

    def recording_reload() -> dict[str, Any]:
        threads.append(threading.get_ident())
        active[0] += 1
        active[1] = max(active[1], active[0])
        try:
            return real_reload()
        finally:
            active[0] -= 1

    desk.reload = recording_reload  # type: ignore[method-assign]
    path.write_text(path.read_text().replace('min_profit = "', 'min_profit = "7'))
    try:
        results = await asyncio.gather(
            node.reload_strategy(),  # what POST /admin/reload-strategy calls
            reload_on_signal(node),  # what SIGHUP runs
            node.reload_strategy(),
        )
    finally:
        node.engine.dispose()
    assert threads == [loop_thread] * 3
    assert active[1] == 1
    assert results[0]["applied"]["strategy"]["min_profit"].startswith("7")
    assert desk.cfg.strategy is not None and str(desk.cfg.strategy.min_profit).startswith("7")
    assert "strategy reloaded" in capsys.readouterr().out


async def test_a_bad_file_on_sighup_changes_nothing_and_says_why(
    sqlite_url: str, tmp_path: Path, capsys: Any
) -> None:
    cfg = example_config(sqlite_url)
    path = write_config(cfg, tmp_path / "edge.toml")
    node = EdgeNode(cfg, config_path=path)
    assert node.desk is not None
    before = node.desk.cfg.strategy
    path.write_text(path.read_text().replace('min_profit = "', 'min_profit = "-'))
    try:
        await reload_on_signal(node)
    finally:
        node.engine.dispose()
    assert node.desk.cfg.strategy == before
    err = capsys.readouterr().err
    assert "config not reloaded" in err and "min_profit" in err
