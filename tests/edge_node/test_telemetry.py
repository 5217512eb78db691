from __future__ import annotations

from edge_node.telemetry import Histogram, Metrics, prometheus_text, registry_for


def test_histogram_buckets_are_upper_bounds_inclusive() -> None:
    h = Histogram((0.001, 0.01))
    for v in (0.0005, 0.001, 0.002, 0.01, 5.0):
        h.observe(v)
    assert h.cumulative() == [("0.001", 2.0), ("0.01", 4.0), ("+Inf", 5.0)]
    assert h.sum == 0.0005 + 0.001 + 0.002 + 0.01 + 5.0


def test_trade_latency_is_exported_as_a_prometheus_histogram() -> None:
    m = Metrics()
    m.observe_trade_latency("signed", 40e-6)
    m.observe_trade_latency("signed", 3e-3)
    text = prometheus_text(registry_for(m)).decode()
    assert 'trade_latency_seconds_bucket{le="5e-05",stage="signed"} 1.0' in text
    assert 'trade_latency_seconds_bucket{le="+Inf",stage="signed"} 2.0' in text
    assert 'trade_latency_seconds_count{stage="signed"} 2.0' in text


def test_the_block_interval_is_exported_from_the_default_on() -> None:
    m = Metrics()
    text = prometheus_text(registry_for(m)).decode()
    assert "\nchain_block_interval_seconds 12.0\n" in text
    m.block_interval.observe(1, 1_000)
    m.block_interval.observe(2, 1_003)
    text = prometheus_text(registry_for(m)).decode()
    assert "\nchain_block_interval_seconds 3.0\n" in text
