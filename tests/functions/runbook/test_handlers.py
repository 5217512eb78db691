"""Each runbook's function with a recorded alarm event, against moto (the alarm's state set with
set_alarm_state, DynamoDB, S3, SNS, SSM) and a stand-in for the node's API."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from shared import control_flags
from tests.functions.events import FakeLambdaContext, load_event, sns_event
from tests.functions.runbook.conftest import ALARM, INSTANCE, PARAMETER, Estate, env_for
from tests.functions.runbook.stub_node import StubNode, stub_node


def _handler(name: str) -> Any:
    module = importlib.import_module("functions.runbook.handler")
    return getattr(module, name)


def _event(alarm: str = ALARM, at: str = "2026-12-01T03:12:40.118+0000") -> dict[str, Any]:
    event = load_event("cloudwatch_alarm_lambda_action")
    event["alarmData"]["alarmName"] = alarm
    event["alarmData"]["state"]["timestamp"] = at
    return event


@pytest.fixture
def node() -> Any:
    with stub_node() as n:
        yield n


def _setenv(mp: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for k, v in env.items():
        mp.setenv(k, v)


def test_pause_trading_through_the_api(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setenv(monkeypatch, env_for(estate, node.url))
    estate.set_alarm("ALARM")
    out = _handler("pause_trading")(_event(), FakeLambdaContext())
    (result,) = out["results"]
    assert result["acted"] and result["ok"], result
    pauses = node.posted("/admin/pause")
    assert len(pauses) == 1 and pauses[0]["actor"] == "runbook:pause-trading"
    assert "MarketDataStale" in pauses[0]["reason"]
    assert node.state == "paused"
    # not the flags: the API took it
    assert estate.aws.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "false"
    (key,) = estate.reports()
    text = estate.report_text(key)
    assert "# Incident Report: S2" in text and "pause via api: trading paused" in text
    assert "alarm_value: 412.0" in text and "alarm_threshold: 300.0" in text
    assert "head_lag_blocks: 9" in text  # the node's figures at the time
    (audit,) = [r for r in estate.audit() if r.action == "runbook:pause-trading"]
    assert audit.actor == "runbook:pause-trading" and key in audit.detail
    (announced,) = estate.announcements()
    assert announced["kind"] == "runbook_action" and announced["severity"] == "high"
    assert announced["links"][0]["text"] == "incident report"
    assert key in announced["links"][0]["url"] and key in announced["details"]["report"]


def test_the_same_alarm_twice_acts_once(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setenv(monkeypatch, env_for(estate, node.url))
    estate.set_alarm("ALARM")
    first = _handler("pause_trading")(_event(), FakeLambdaContext())["results"][0]
    node.state = "running"  # an operator resumed in between
    again = _handler("pause_trading")(_event(), FakeLambdaContext())["results"][0]
    assert first["acted"] and not again["acted"]
    assert "handled already" in again["skipped"]
    assert len(node.posted("/admin/pause")) == 1 and node.state == "running"
    assert len(estate.reports()) == 1 and len(estate.announcements()) == 1
    # a new state change of the same alarm is a new run
    later = _handler("pause_trading")(
        _event(at="2026-12-01T04:00:00.000+0000"), FakeLambdaContext()
    )
    assert later["results"][0]["acted"]


def test_an_alarm_already_ok_does_nothing(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setenv(monkeypatch, env_for(estate, node.url))
    estate.set_alarm("OK")  # the event says ALARM; CloudWatch says it is over
    (result,) = _handler("pause_trading")(_event(), FakeLambdaContext())["results"]
    assert not result["acted"] and "is OK now" in result["skipped"]
    assert node.requests == [] and estate.reports() == [] and estate.announcements() == []


def test_one_run_at_a_time_per_alarm(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.runbook.gate import Locks

    _setenv(monkeypatch, env_for(estate, node.url))
    estate.set_alarm("ALARM")
    locks = Locks(estate.aws.dynamodb, "edge-prod-runbook-locks")
    owner = locks.acquire(ALARM, 900)  # another invocation is acting
    assert owner is not None
    (result,) = _handler("pause_trading")(_event(), FakeLambdaContext())["results"]
    assert not result["acted"] and "another run" in result["skipped"]
    assert node.requests == []
    locks.release(ALARM, owner)
    (result,) = _handler("pause_trading")(_event(), FakeLambdaContext())["results"]
    assert result["acted"]
    # an expired lock (its run was killed) does not block
    stale = locks.acquire("edge-prod-Other", 60, now=0)
    assert stale is not None and locks.acquire("edge-prod-Other", 60) is not None


def test_pause_through_the_flags_when_the_api_is_down(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.process import free_port

    _setenv(monkeypatch, env_for(estate, f"http://127.0.0.1:{free_port()}"))
    estate.set_alarm("ALARM")
    (result,) = _handler("pause_trading")(_event(), FakeLambdaContext())["results"]
    assert result["acted"] and result["ok"], result
    value = estate.aws.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    assert control_flags.remote_state(value) is control_flags.RemoteState.PAUSE
    assert estate.db_flag("trading_paused") == "true"
    assert estate.db_flag("emergency_stop") != "true"  # a pause, not a stop
    actions = [r.action for r in estate.audit()]
    assert "trading_paused:set" in actions and "runbook:pause-trading" in actions
    text = estate.report_text(estate.reports()[0])
    assert "API does not answer" in text and "remote flag" in text


def test_the_sns_route_is_read_too(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setenv(monkeypatch, env_for(estate, node.url))
    estate.set_alarm("ALARM")
    message = load_event("sns_cloudwatch_alarm")["Records"][0]["Sns"]["Message"]
    event = sns_event(message.replace("edge-backup-age", ALARM))
    (result,) = _handler("pause_trading")(event, FakeLambdaContext())["results"]
    assert result["acted"] and result["trigger"]["source"] == "sns"
    assert result["trigger"]["threshold"] == "93600.0"


def test_emergency_stop_through_every_surface_confirmed(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarm = "edge-prod-PaperTradingViolation"
    _setenv(monkeypatch, env_for(estate, node.url))
    estate.set_alarm("ALARM", alarm)
    (result,) = _handler("emergency_stop")(_event(alarm), FakeLambdaContext())["results"]
    assert result["acted"] and result["ok"], result
    assert result["facts"]["surfaces"] == {"api": True, "database": True, "ssm": True}
    assert result["facts"]["confirmed_after_s"] >= 0
    assert node.state == "stopped"
    assert estate.aws.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "true"
    assert estate.db_flag("emergency_stop") == "true"
    (announced,) = estate.announcements()
    assert announced["severity"] == "critical"
    text = estate.report_text(estate.reports()[0])
    assert "# Incident Report: S1" in text and "stop_confirmed_after_s" in text


def test_emergency_stop_not_confirmed_is_escalated(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node takes the call but /health never shows it stopped (a stop that does not stop)."""
    alarm = "edge-prod-PaperTradingViolation"
    _setenv(monkeypatch, env_for(estate, node.url, EDGE_OPS_CONFIRM_WITHIN_S="0.3"))
    estate.set_alarm("ALARM", alarm)

    import tests.functions.runbook.stub_node as stub

    real = stub._Handler.do_POST

    def forgetful(self: Any) -> None:  # the stub forgets the stop at once
        real(self)
        self.server.state = "running"

    monkeypatch.setattr(stub._Handler, "do_POST", forgetful)
    (result,) = _handler("emergency_stop")(_event(alarm), FakeLambdaContext())["results"]
    assert result["acted"] and not result["ok"] and result["escalated"]
    assert "NOT CONFIRMED" in result["summary"]
    assert estate.announcements()[0]["severity"] == "critical"


def test_node_down_restarts_through_run_command_and_confirms(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarm = "edge-prod-NodeDown"
    _setenv(monkeypatch, env_for(estate, node.url, EDGE_OPS_RESTART_WAIT_S="5"))
    estate.set_alarm("ALARM", alarm)
    node.healthy = False
    node.healthy_after_checks = 2  # back after the restart
    (result,) = _handler("node_down")(_event(alarm), FakeLambdaContext())["results"]
    assert result["acted"] and result["ok"] and not result["escalated"], result
    (command,) = estate.aws.ssm.list_commands()["Commands"]
    assert command["DocumentName"] == "AWS-RunShellScript"
    assert command["Parameters"]["commands"] == ["systemctl restart edge-node"]
    assert command["InstanceIds"] == [INSTANCE]
    assert estate.announcements()[0]["severity"] == "high"


def test_node_down_that_never_comes_back_is_escalated(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarm = "edge-prod-NodeDown"
    _setenv(monkeypatch, env_for(estate, node.url, EDGE_OPS_RESTART_WAIT_S="0.5"))
    estate.set_alarm("ALARM", alarm)
    node.healthy = False
    (result,) = _handler("node_down")(_event(alarm), FakeLambdaContext())["results"]
    assert result["acted"] and not result["ok"] and result["escalated"]
    assert "ESCALATED" in result["summary"]
    assert len(estate.aws.ssm.list_commands()["Commands"]) == 1
    (announced,) = estate.announcements()
    assert announced["severity"] == "critical" and "did not come back" in announced["summary"]
    assert "# Incident Report: S1" in estate.report_text(estate.reports()[0])


def test_node_down_but_healthy_now_restarts_nothing(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarm = "edge-prod-NodeDown"
    _setenv(monkeypatch, env_for(estate, node.url))
    estate.set_alarm("ALARM", alarm)
    (result,) = _handler("node_down")(_event(alarm), FakeLambdaContext())["results"]
    assert result["acted"] and result["ok"]
    assert estate.aws.ssm.list_commands()["Commands"] == []


def test_prune_runs_the_prune(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarm = "edge-prod-DatabaseSize"
    _setenv(monkeypatch, env_for(estate, node.url))
    estate.set_alarm("ALARM", alarm)
    (result,) = _handler("prune")(_event(alarm), FakeLambdaContext())["results"]
    assert result["acted"] and result["ok"], result
    assert result["facts"]["rows"] == 0 and "database_size_mb" in result["facts"]
    assert "database_size_mb_before" in estate.report_text(estate.reports()[0])


def test_a_bad_event_is_refused_without_acting(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.common.errors import BadInput

    _setenv(monkeypatch, env_for(estate, node.url))
    with pytest.raises(BadInput, match="not a CloudWatch alarm"):
        _handler("pause_trading")({"hello": "world"}, FakeLambdaContext())
    assert node.requests == []


# --- Prometheus alerts: Alertmanager's webhook (v4), the alert naming its runbook ---------------


def _alertmanager(runbook: str = "pause-trading") -> dict[str, Any]:
    """The recorded webhook: one alert firing, one resolved, both naming ``runbook`` as the
    deployed rules do (shared/monitoring/rules.yml: MarketDataStale names pause-trading)."""
    event = load_event("fanout_alertmanager_v4")
    for alert in event["alerts"]:
        alert["labels"]["alertname"] = "MarketDataStale"
        alert["annotations"]["runbook"] = runbook
    return event


def test_a_firing_prometheus_alert_starts_its_runbook_once(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setenv(monkeypatch, env_for(estate, node.url))
    # No CloudWatch alarm in ALARM: the alert's own status gates it, not describe_alarms.
    estate.set_alarm("OK")
    firing, resolved = _handler("pause_trading")(_alertmanager(), FakeLambdaContext())["results"]
    assert firing["acted"] and firing["ok"], firing
    assert firing["trigger"]["source"] == "alertmanager"
    assert firing["trigger"]["fingerprint"] == "8c1f2d3e4b5a6978"
    assert not resolved["acted"] and "is resolved now" in resolved["skipped"]
    assert len(node.posted("/admin/pause")) == 1 and node.state == "paused"
    assert "alarm_value: 8.3%" in estate.report_text(estate.reports()[0])
    # Alertmanager repeats a firing alert (repeat_interval): the same fingerprint and startsAt.
    node.state = "running"
    again = _handler("pause_trading")(_alertmanager(), FakeLambdaContext())["results"][0]
    assert not again["acted"] and "handled already" in again["skipped"]
    assert len(node.posted("/admin/pause")) == 1
    # The same alert firing anew (a new startsAt) is a new run.
    anew = _alertmanager()
    anew["alerts"][0]["startsAt"] = "2026-12-02T04:10:00Z"
    assert _handler("pause_trading")(anew, FakeLambdaContext())["results"][0]["acted"]


def test_a_prometheus_alert_for_another_runbook_is_not_acted_on(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setenv(monkeypatch, env_for(estate, node.url))
    (first, _) = _handler("pause_trading")(_alertmanager("node-down"), FakeLambdaContext())[
        "results"
    ]
    assert not first["acted"] and "names runbook 'node-down'" in first["skipped"]
    event = _alertmanager()
    del event["alerts"][0]["annotations"]["runbook"]
    (first, _) = _handler("pause_trading")(event, FakeLambdaContext())["results"]
    assert not first["acted"] and "names no runbook" in first["skipped"]
    assert node.requests == []


def test_an_alertmanager_alert_without_its_fingerprint_is_refused(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.common.errors import BadInput

    _setenv(monkeypatch, env_for(estate, node.url))
    event = _alertmanager()
    del event["alerts"][0]["fingerprint"]
    with pytest.raises(BadInput, match="without fingerprint"):
        _handler("pause_trading")(event, FakeLambdaContext())
    assert node.requests == []


# --- Prometheus alerts as the edge host's Alertmanager publishes them to SNS -----------------


def _sns_notice(status: str = "firing") -> dict[str, Any]:
    """Recorded from the real Alertmanager publishing to a moto server
    (tests/infra/monitoring/test_alertmanager_sns_delivery.py): RpcHeadLag naming pause-trading."""
    event = load_event("runbook_alertmanager_sns")
    event["Records"][0]["Sns"]["MessageAttributes"]["status"]["Value"] = status
    return event


def test_a_prometheus_alert_through_sns_starts_its_runbook_once(
    estate: Estate, node: StubNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setenv(monkeypatch, env_for(estate, node.url))
    estate.set_alarm("OK")  # no CloudWatch alarm: the alert's own status gates it
    (first,) = _handler("pause_trading")(_sns_notice(), FakeLambdaContext())["results"]
    assert first["acted"] and first["ok"], first
    assert first["trigger"]["source"] == "alertmanager"
    assert first["trigger"]["fingerprint"] == "fe0d907efaa87913"
    assert len(node.posted("/admin/pause")) == 1 and node.state == "paused"
    # SNS delivers at least once: the same alert again acts no more
    node.state = "running"
    (again,) = _handler("pause_trading")(_sns_notice(), FakeLambdaContext())["results"]
    assert not again["acted"] and "handled already" in again["skipped"]
    # a resolution (kept out by the subscription's filter, and refused here too), of an
    # alert this runbook never handled
    event = _sns_notice("resolved")
    event["Records"][0]["Sns"]["MessageAttributes"]["starts_at"]["Value"] = "2026-12-02T05:00:00Z"
    (resolved,) = _handler("pause_trading")(event, FakeLambdaContext())["results"]
    assert not resolved["acted"] and "is resolved now" in resolved["skipped"]
    assert len(node.posted("/admin/pause")) == 1
