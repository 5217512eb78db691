"""The node's trading actions as the API and the CLI reach them: pause, resume, stop, reload.

Every state change goes through the control service (``edge_node.control``); this module only
maps the surfaces' requests onto it and shapes the answers.
"""

from __future__ import annotations

import time
from typing import Any

from edge_node.api import ActionRefused, NotTrading
from edge_node.control import ResumeRefused
from edge_node.trading import TradingDesk


class TradingSurfaces:
    """Mixed into ``EdgeNode``, which sets ``desk``."""

    desk: TradingDesk | None

    def _desk(self) -> TradingDesk:
        if self.desk is None:
            raise NotTrading("this node has no [strategy] configured")
        return self.desk

    async def admin(self, action: str, actor: str, reason: str) -> dict[str, Any]:
        desk = self._desk()
        started = time.time()
        service = desk.control_service
        if action == "pause":
            t = await service.pause(actor, reason)
        elif action == "emergency-stop":
            t = await service.emergency_stop(actor, reason)
        elif action == "resume":
            try:
                t = await service.resume(actor, reason)
            except ResumeRefused as err:
                raise ActionRefused(str(err)) from None
            desk.risk.reset_failures()
        else:
            raise ActionRefused(f"unknown action {action}")
        out: dict[str, Any] = {
            "state": desk.control.state.value,
            "changed": t is not None,
            # Signing stops at the transition, before the flags are persisted: this is the
            # latency from the request to the moment nothing more can be signed.
            "halted_in_ms": round((t.at - started) * 1000, 3) if t is not None else 0.0,
        }
        if action == "emergency-stop" and desk.trader is not None:
            out["exposure"] = desk.trader.exposure()
        return out

    async def reload_strategy(self) -> dict[str, Any]:
        """Re-read the config file and apply its strategy and risk sections (``ConfigError``:
        nothing changes). The one path for every surface: the API and SIGHUP both come here.

        It runs on the event loop, like everything else that reads or changes the strategy,
        the risk gate and the trader, so it never interleaves with them or with another reload
        (on a worker thread it would mutate them mid-decision). It reads one small local file.
        """
        return self._desk().reload()
