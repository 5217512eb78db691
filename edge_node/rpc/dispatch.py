"""Routing of incoming JSON-RPC websocket messages. No I/O: the transport feeds it raw text.

Log notifications are most of the traffic, so they get a fast path: the message is parsed once,
straight into a typed ``LogNotification`` (msgspec, in C), and handed to the logs handler in the
same call: no queue hop between a log arriving and the code that acts on it. Anything else (a
head, an answer, a batch) fails that typed parse quickly and takes the general path, where the
envelope is parsed with its result kept raw for whoever asked for it.

A message that cannot be parsed, or whose handler fails, is counted and dropped; routing never
raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from edge_node.chain.wire import LOG_NOTIFICATION, MESSAGE, Envelope, RawLog
from edge_node.telemetry import Metrics

log = logging.getLogger(__name__)

Handler = Callable[[msgspec.Raw], None]
LogHandler = Callable[[RawLog], None]


class Dispatcher:
    def __init__(
        self,
        name: str,
        metrics: Metrics,
        on_answer: Callable[[Envelope], None],
        on_batch: Callable[[list[Envelope]], None],
    ) -> None:
        self.name = name
        self.metrics = metrics
        # Subscriptions whose results are logs get typed logs; others get raw JSON.
        self.log_subs: dict[str, LogHandler] = {}
        self.subs: dict[str, Handler] = {}
        self._on_answer = on_answer
        self._on_batch = on_batch

    def dispatch(self, raw: str | bytes) -> None:
        try:
            note = LOG_NOTIFICATION.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            self._general(raw)
            return
        handler = self.log_subs.get(note.params.subscription)
        if handler is None:
            self._general(raw)  # a log-shaped result of another subscription
            return
        try:
            handler(note.params.result)
        except Exception as err:
            self._dropped(err)

    def _general(self, raw: str | bytes) -> None:
        try:
            msg = MESSAGE.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as err:
            self._dropped(err)
            return
        try:
            if isinstance(msg, list):
                if msg:
                    self._on_batch(msg)
                return
            if msg.method == "eth_subscription" and msg.params is not None:
                sub = msg.params.subscription
                handler = self.subs.get(sub)
                if handler is not None:
                    handler(msg.params.result)
                elif sub in self.log_subs:
                    # A notification on the logs subscription that is not a valid log.
                    self._dropped(ValueError("malformed log notification"), kind="malformed_log")
                return
            if msg.id is not None:
                self._on_answer(msg)
        except Exception as err:  # a handler failure: count, keep reading
            self._dropped(err)

    def _dropped(self, err: BaseException, kind: str = "rpc_message") -> None:
        self.metrics.market_data_error(kind)
        log.warning("%s: dropped a message: %s", self.name, str(err)[:200])
