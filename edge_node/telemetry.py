"""The node's metrics: plain counters on the hot path, rendered for Prometheus at scrape time.

prometheus-client's own Counter takes a lock on every increment; on the hot path we only bump
integers and let a custom collector read them when /prometheus is scraped. Names come from
``shared.metrics`` so alarms and dashboards cannot drift from what the node exports.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from edge_node.chain.block_interval import BlockInterval
from shared import metrics as names
from shared.metrics import MetricSpec


class Histogram:
    """Observations counted into fixed buckets: an increment on the hot path, nothing more."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        out, total = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(total)))
        return out


@dataclass
class Metrics:
    started: float = field(default_factory=time.time)
    websocket_connections: int = 0
    websocket_reconnects: int = 0
    rpc_failovers: int = 0
    backfilled_blocks: int = 0
    reorgs: int = 0
    reorged_blocks: int = 0
    head_lag_blocks: int = 0
    chain_head: int | None = None
    block_interval: BlockInterval = field(default_factory=BlockInterval)  # fed by the follower
    candle_lag_s: float = 0.0
    market_data_errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rpc_requests: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    rpc_refused: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    endpoint_head: dict[str, int] = field(default_factory=dict)
    endpoint_up: dict[str, bool] = field(default_factory=dict)
    # Filled in by the node: readers of state owned elsewhere (book, writer, health, trader).
    sources: dict[str, Callable[[], float | None]] = field(default_factory=dict)
    labelled_sources: dict[str, Callable[[], Iterable[tuple[tuple[str, ...], float]]]] = field(
        default_factory=dict
    )

    risk_refusals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    trade_latency: dict[str, Histogram] = field(default_factory=dict)  # stage -> histogram
    # The API's answers by (route, status), its 401s, and the node's own alerts by outcome.
    http_requests: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    api_unauthorized: int = 0
    node_alerts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Other histograms: metric name -> label values -> histogram. Observed from the loop and
    # from worker threads (the store writer, the journal); a scrape reads them as they are.
    histograms: dict[str, dict[tuple[str, ...], Histogram]] = field(default_factory=dict)
    # Written by the store sampler's thread (edge_node.store.usage), read at scrape time.
    store_size_bytes: float | None = None
    volume_free_bytes: float | None = None
    volume_size_bytes: float | None = None
    # Label values exported at 0 until counted: metric name -> label value tuples.
    zero_labels: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    def observe(self, spec: MetricSpec, labels: tuple[str, ...], seconds: float) -> None:
        by_labels = self.histograms.setdefault(spec.name, {})
        h = by_labels.get(labels)
        if h is None:
            h = by_labels[labels] = Histogram(spec.buckets)
        h.observe(seconds)

    def api_request(self, route: str, status: int, seconds: float) -> None:
        self.http_requests[(route, str(status))] += 1
        self.observe(names.HTTP_REQUEST_DURATION_SECONDS, (route,), seconds)

    def rpc_latency(self, endpoint: str, seconds: float) -> None:
        self.observe(names.RPC_REQUEST_DURATION_SECONDS, (endpoint,), seconds)

    def db_latency(self, operation: str, seconds: float) -> None:
        self.observe(names.DB_QUERY_DURATION_SECONDS, (operation,), seconds)

    def node_alert(self, outcome: str) -> None:
        self.node_alerts[outcome] += 1

    def at_zero(self, spec: MetricSpec, label_sets: Iterable[tuple[str, ...]]) -> None:
        """Export these label values at 0 until something is counted for them."""
        known = self.zero_labels.setdefault(spec.name, [])
        known.extend(ls for ls in label_sets if ls not in known)

    def observe_trade_latency(self, stage: str, seconds: float) -> None:
        h = self.trade_latency.get(stage)
        if h is None:
            h = self.trade_latency[stage] = Histogram(names.TRADE_LATENCY_SECONDS.buckets)
        h.observe(seconds)

    def risk_refusal(self, limit: str) -> None:
        self.risk_refusals[limit] += 1

    def market_data_error(self, kind: str) -> None:
        self.market_data_errors[kind] += 1

    def rpc_request(self, endpoint: str, outcome: str, n: int = 1) -> None:
        self.rpc_requests[(endpoint, outcome)] += n

    def rpc_message_refused(self, endpoint: str, transport: str) -> None:
        self.rpc_refused[(endpoint, transport)] += 1

    def endpoint_lag(self) -> dict[str, int]:
        if not self.endpoint_head:
            return {}
        best = max(self.endpoint_head.values())
        return {name: best - head for name, head in self.endpoint_head.items()}

    def source(self, name: str) -> float | None:
        fn = self.sources.get(name)
        return fn() if fn else None


class _ProcessSampler:
    """Process RSS and CPU, sampled at scrape time (CPU as percent since the last scrape)."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self._proc.cpu_percent(None)

    def rss(self) -> int:
        return int(self._proc.memory_info().rss)

    def cpu(self) -> float:
        return float(self._proc.cpu_percent(None))


class NodeCollector(Collector):
    def __init__(self, m: Metrics) -> None:
        self.m = m
        self.proc = _ProcessSampler()

    def _family(self, spec: MetricSpec) -> CounterMetricFamily | GaugeMetricFamily:
        labels = list(spec.labels)
        if spec.kind == "counter":
            return CounterMetricFamily(spec.name, spec.help, labels=labels)
        return GaugeMetricFamily(spec.name, spec.help, labels=labels)

    def collect(self) -> Iterator[Metric]:
        m = self.m
        scalar: dict[str, float | None] = {
            names.HEALTH_CHECK_STATUS.name: m.source("health"),
            names.UPTIME_SECONDS.name: time.time() - m.started,
            names.SYSTEM_MEMORY_USAGE_BYTES.name: self.proc.rss(),
            names.SYSTEM_CPU_USAGE_PERCENT.name: self.proc.cpu(),
            names.WEBSOCKET_CONNECTIONS_TOTAL.name: m.websocket_connections,
            names.WEBSOCKET_RECONNECTS_TOTAL.name: m.websocket_reconnects,
            names.SWAP_EVENTS_PROCESSED_TOTAL.name: m.source("swaps"),
            names.PRICE_UPDATES_TOTAL.name: m.source("price_updates"),
            names.RPC_FAILOVERS_TOTAL.name: m.rpc_failovers,
            names.HEAD_LAG_BLOCKS.name: m.head_lag_blocks,
            names.LAST_PROCESSED_BLOCK.name: m.source("last_block"),
            names.LAST_BLOCK_AGE_SECONDS.name: m.source("last_block_age"),
            names.CHAIN_BLOCK_INTERVAL_SECONDS.name: m.block_interval.seconds,
            names.BACKFILLED_BLOCKS_TOTAL.name: m.backfilled_blocks,
            names.REORGS_TOTAL.name: m.reorgs,
            names.REORGED_BLOCKS_TOTAL.name: m.reorged_blocks,
            names.EVENT_QUEUE_SIZE.name: m.source("queue"),
            names.DB_CONNECTION_ERRORS_TOTAL.name: m.source("db_errors"),
            names.STORE_COMMITTED_BLOCK.name: m.source("committed_block"),
            names.CANDLESTICK_AGGREGATION_LAG_SECONDS.name: m.candle_lag_s,
            names.API_UNAUTHORIZED_REQUESTS_TOTAL.name: m.api_unauthorized,
            names.STORE_SIZE_BYTES.name: m.store_size_bytes,
            names.STORE_VOLUME_FREE_BYTES.name: m.volume_free_bytes,
            names.STORE_VOLUME_SIZE_BYTES.name: m.volume_size_bytes,
        }
        for spec in names.ALL:
            if not spec.labels and spec.name not in scalar:
                scalar[spec.name] = m.source(spec.name)
        labelled: dict[str, Iterable[tuple[tuple[str, ...], float]]] = {
            names.MARKET_DATA_ERRORS_TOTAL.name: [
                ((k,), v) for k, v in sorted(m.market_data_errors.items())
            ],
            names.RPC_REQUESTS_TOTAL.name: [
                ((ep, outcome), v) for (ep, outcome), v in sorted(m.rpc_requests.items())
            ],
            names.RPC_MESSAGES_REFUSED_TOTAL.name: [
                ((ep, transport), v) for (ep, transport), v in sorted(m.rpc_refused.items())
            ],
            names.RPC_ENDPOINT_HEAD_LAG_BLOCKS.name: [
                ((ep,), lag) for ep, lag in sorted(m.endpoint_lag().items())
            ],
            names.RPC_ENDPOINT_UP.name: [
                ((ep,), 1.0 if up else 0.0) for ep, up in sorted(m.endpoint_up.items())
            ],
            names.RISK_REFUSALS_TOTAL.name: [((k,), v) for k, v in sorted(m.risk_refusals.items())],
            names.HTTP_REQUESTS_TOTAL.name: [
                ((route, status), v) for (route, status), v in sorted(m.http_requests.items())
            ],
            names.NODE_ALERTS_TOTAL.name: [((k,), v) for k, v in sorted(m.node_alerts.items())],
        }
        for name, fn in m.labelled_sources.items():
            labelled[name] = list(fn())
        for spec in names.ALL:
            if spec.exporter != "node":
                continue  # prometheus_client's process collector renders these
            if spec.kind == "histogram":
                yield self._histogram(spec)
                continue
            fam = self._family(spec)
            if spec.labels:
                rows = list(labelled.get(spec.name, ()))
                seen = {labels for labels, _ in rows}
                rows += [(ls, 0.0) for ls in m.zero_labels.get(spec.name, ()) if ls not in seen]
                for labels, value in sorted(rows):
                    fam.add_metric(list(labels), value)
            else:
                scalar_value = scalar.get(spec.name)
                fam.add_metric([], float("nan") if scalar_value is None else float(scalar_value))
            yield fam

    def _histogram(self, spec: MetricSpec) -> HistogramMetricFamily:
        fam = HistogramMetricFamily(spec.name, spec.help, labels=list(spec.labels))
        if spec is names.TRADE_LATENCY_SECONDS:
            for stage, h in sorted(self.m.trade_latency.items()):
                fam.add_metric([stage], h.cumulative(), h.sum)
        # A copy: a worker thread may add a label set while the scrape reads.
        for labels, h in sorted(dict(self.m.histograms.get(spec.name, {})).items()):
            fam.add_metric(list(labels), h.cumulative(), h.sum)
        return fam


def registry_for(m: Metrics) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(NodeCollector(m))
    # The standard process_* series (resident memory, CPU seconds, open files): seed 001's
    # HighMemoryUsage reads process_resident_memory_bytes. Nothing registers it by default
    # in our own registry (only prometheus_client's global one has it).
    ProcessCollector(registry=reg)
    return reg


def prometheus_text(reg: CollectorRegistry) -> bytes:
    return generate_latest(reg)


def as_json(reg: CollectorRegistry) -> dict[str, Any]:
    """The same metrics as a JSON object: {name: value} or {name: [{labels, value}]}."""
    out: dict[str, Any] = {}
    for fam in reg.collect():
        for s in fam.samples:
            if s.name.endswith("_created"):
                continue
            value = None if s.value != s.value else s.value  # NaN -> null
            if s.labels:
                out.setdefault(s.name, []).append({"labels": dict(s.labels), "value": value})
            else:
                out[s.name] = value
    return out
