"""The operator's HTTP surface (aiohttp, in the node's event loop).

``GET /healthz`` is public and says only ok / not ok. Everything else needs
``Authorization: Bearer <token>``; the token is compared in constant time, and the node does
not start without one (an empty password must never authenticate). The token may rotate: see
``api_tokens`` (Secrets Manager versions, picked up without a restart).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from aiohttp import web

from edge_node.api_tokens import Authenticator, StaticToken
from edge_node.telemetry import Metrics, prometheus_text
from shared import metrics as names

log = logging.getLogger(__name__)

MAX_CANDLES = 1000
_ACTOR = re.compile(r"[^A-Za-z0-9:._@-]")  # what an audited actor name may hold


class NodeView(Protocol):
    def health_ok(self) -> bool: ...

    def health_detail(self) -> dict[str, Any]: ...

    def metrics_json(self) -> dict[str, Any]: ...

    def metrics_registry(self) -> Any: ...

    def intervals(self) -> list[str]: ...

    def find_pool(self, pair: str) -> str | None: ...

    def pools_detail(self) -> list[dict[str, Any]]: ...

    async def candles(self, pool: str, interval: str, limit: int) -> list[dict[str, Any]]: ...

    async def admin(self, action: str, actor: str, reason: str) -> dict[str, Any]: ...

    async def reload_strategy(self) -> dict[str, Any]: ...

    async def trades(self, limit: int, mode: str | None) -> list[dict[str, Any]]: ...

    async def daily_summary(self, day: str) -> dict[str, Any]: ...


class NotTrading(Exception):
    """The node has no strategy configured: there is nothing to pause or stop."""


class ActionRefused(Exception):
    """The action is not possible now; the message says why."""


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

UNMATCHED_ROUTE = "unmatched"  # a path no route serves: one label value, not one per path


def _route(request: web.Request) -> str:
    # The route's template ("/api/v1/candles/{pair}"), never the path: a label per pair or per
    # scanned URL would grow without bound.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


def build_app(
    node: NodeView, token: str | Authenticator, metrics: Metrics | None = None
) -> web.Application:
    """``token``: the one accepted token, or an ``Authenticator`` (tokens that rotate)."""
    if isinstance(token, str):
        if not token:
            raise ValueError("the API needs a non-empty token")
        token = StaticToken(token)
    authenticator = token
    m = metrics if metrics is not None else Metrics()

    @web.middleware
    async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500  # an exception that is no HTTP answer becomes a 500
        try:
            resp = await handler(request)
            status = resp.status
            return resp
        except web.HTTPException as err:
            status = err.status
            raise
        finally:
            m.api_request(_route(request), status, time.perf_counter() - started)

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/healthz":
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, supplied = header.partition(" ")
        if scheme.lower() != "bearer" or await authenticator.check(supplied.strip()) is None:
            m.api_unauthorized += 1
            resp = _error(401, "missing or wrong bearer token")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="edge-node"'
            return resp
        return await handler(request)

    async def healthz(_: web.Request) -> web.Response:
        ok = node.health_ok()
        return _json({"status": "ok" if ok else "not ok"}, 200 if ok else 503)

    async def health(_: web.Request) -> web.Response:
        detail = node.health_detail()
        detail["api_unauthorized_requests"] = m.api_unauthorized
        detail["api_tokens"] = authenticator.detail()
        return _json(detail, 200 if detail.get("status") == "ok" else 503)

    async def metrics_json(_: web.Request) -> web.Response:
        return _json(node.metrics_json())

    async def prometheus(_: web.Request) -> web.Response:
        return web.Response(
            body=prometheus_text(node.metrics_registry()),
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    async def pools(_: web.Request) -> web.Response:
        return _json({"pools": node.pools_detail()})

    async def candles(request: web.Request) -> web.Response:
        pair = request.match_info["pair"]
        pool = node.find_pool(pair)
        if pool is None:
            return _error(404, f"unknown pair or pool {pair!r}")
        intervals = node.intervals()
        interval = request.query.get("interval", intervals[0])
        if interval not in intervals:
            return _error(400, f"interval must be one of {intervals}")
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return _error(400, "limit must be an integer")
        if not 1 <= limit <= MAX_CANDLES:
            return _error(400, f"limit must be between 1 and {MAX_CANDLES}")
        rows = await node.candles(pool, interval, limit)
        return _json({"pair": pair, "pool": pool, "interval": interval, "candles": rows})

    async def admin(request: web.Request) -> web.Response:
        action = request.match_info["action"]
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            return _error(400, 'body must be JSON, e.g. {"reason": "..."}')
        fields = body if isinstance(body, dict) else {}
        reason = str(fields.get("reason") or "").strip()[:500]
        if action == "emergency-stop" and not reason:
            return _error(400, "an emergency stop needs a reason")
        # Who asked, as the caller names itself (a runbook, a person's CLI): audited as
        # "api:<name>", so the audit log tells an alarm's action from an operator's.
        named = _ACTOR.sub("", str(fields.get("actor") or ""))[:100]
        actor = f"api:{named}" if named else "api"
        try:
            result = await node.admin(action, actor, reason or f"{action} via API")
        except NotTrading as err:
            return _error(409, str(err))
        except ActionRefused as err:
            return _error(409, str(err))
        return _json(result)

    async def reload_strategy(_: web.Request) -> web.Response:
        from shared.config import ConfigError

        try:
            return _json(await node.reload_strategy())
        except NotTrading as err:
            return _error(409, str(err))
        except ConfigError as err:
            return _json({"error": "config not reloaded", "problems": err.problems}, 422)

    async def trades(request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            return _error(400, "limit must be an integer")
        if not 1 <= limit <= 1000:
            return _error(400, "limit must be between 1 and 1000")
        mode = request.query.get("mode")
        if mode not in (None, "paper", "live"):
            return _error(400, "mode must be paper or live")
        return _json({"trades": await node.trades(limit, mode)})

    async def daily_summary(request: web.Request) -> web.Response:
        import datetime as dt

        day = request.query.get("date") or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            return _error(400, "date must be YYYY-MM-DD")
        return _json(await node.daily_summary(day))

    app = web.Application(middlewares=[measure, auth])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics_json)
    app.router.add_get("/prometheus", prometheus)
    app.router.add_get("/api/v1/pools", pools)
    app.router.add_get("/api/v1/candles/{pair}", candles)
    app.router.add_get("/api/v1/trades", trades)
    app.router.add_get("/api/v1/daily-summary", daily_summary)
    app.router.add_post("/admin/reload-strategy", reload_strategy)
    app.router.add_post("/admin/{action:pause|resume|emergency-stop}", admin)
    routes = sorted({r.canonical for r in app.router.resources()} | {UNMATCHED_ROUTE})
    m.at_zero(
        names.HTTP_REQUESTS_TOTAL,
        [(route, status) for route in routes for status in names.API_STATUSES_AT_ZERO],
    )
    return app


class ApiServer:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self.host = host
        self.port = port

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        if self.port == 0 and server is not None:
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = sockets[0].getsockname()[1]
        log.info("API listening on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()
