"""The edge host's Alertmanager configuration: every alert of shared/monitoring/rules.yml to
the SNS topic of its severity, which the fan-out reads (and, for an alert naming a runbook,
that runbook: infra/functions.py subscribes it with a filter on the attributes). Pure.

``python -m infra.monitoring.alertmanager_sns`` writes ``alertmanager.yml`` and
``edge-sns.tmpl`` beside this file with example topic ARNs (``--check`` compares): the files
the amtool tests read, the same text the host is given with its stack's ARNs.

- One alert per notification (``group_by: ['...']``): the SNS message attributes describe
  one alert (shared/alert_notice.py), so the fan-out's PagerDuty key and the runbook's
  once-record are the alert's fingerprint, never a group's (alertmanager #2874).
- Timing by severity (critical waits 10 s and repeats hourly; low waits 5 min, daily).
- An unknown severity goes to the high topic: not quietly low.
- No inhibit rules: one whose ``equal`` labels both alerts lack suppresses everything
  (alertmanager #507, #1727).
- Published with the host's instance role (SigV4); the role may publish to these topics only.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from shared import alert_notice

HERE = Path(__file__).resolve().parent
CONFIG_FILE = HERE / "alertmanager.yml"
TEMPLATE_FILE = HERE / "edge-sns.tmpl"
TEMPLATE_NAME = "edge-sns.tmpl"  # beside the config: Alertmanager reads it relative to it
EXAMPLE_REGION = "us-east-1"
EXAMPLE_TOPIC = "arn:aws:sns:us-east-1:123456789012:edge-example-alerts-{severity}"

SEVERITIES = ("critical", "high", "medium", "low")
# The label values each topic takes (other rule sets' spellings too); unknown -> high.
MATCHERS = {
    "critical": "critical|page|p0|s1",
    "high": "high|warning|p1|s2",
    "medium": "medium|p2|s3",
    "low": "low|info|p3|s4",
}
DEFAULT_SEVERITY = "high"
TIMING = {  # group_wait, group_interval, repeat_interval
    "critical": ("10s", "1m", "1h"),
    "high": ("30s", "5m", "4h"),
    "medium": ("1m", "5m", "12h"),
    "low": ("5m", "5m", "24h"),
}

_TIME = '.Format "2006-01-02T15:04:05.999999999Z07:00"'  # RFC 3339, as the webhook writes it


def _one(expr: str) -> str:
    """A template of ``expr`` for the notification's only alert, ``none`` when empty."""
    return (
        "{{ range .Alerts }}{{ with "
        + expr
        + " }}{{ . }}{{ else }}"
        + alert_notice.NONE
        + "{{ end }}{{ end }}"
    )


ATTRIBUTE_TEMPLATES: dict[str, str] = {
    "source": alert_notice.SOURCE,
    "alertname": _one(".Labels.alertname"),
    "severity": _one(".Labels.severity"),
    "status": "{{ range .Alerts }}{{ .Status }}{{ end }}",
    # the rules name the runbook in an annotation (a label would split the alert's identity)
    "runbook": _one(".Annotations.runbook"),
    "fingerprint": _one(".Fingerprint"),
    "starts_at": "{{ range .Alerts }}{{ .StartsAt" + _TIME + " }}{{ end }}",
    "ends_at": (
        '{{ range .Alerts }}{{ if eq .Status "resolved" }}{{ .EndsAt' + _TIME + " }}"
        "{{ else }}" + alert_notice.NONE + "{{ end }}{{ end }}"
    ),
}
assert tuple(ATTRIBUTE_TEMPLATES) == alert_notice.ATTRIBUTES

TEMPLATE = (
    "{{/* The body of an alert published to SNS: shared/alert_notice.py reads it. */}}\n"
    '{{ define "edge.sns.subject" }}[{{ .Status | toUpper }}] '
    "{{ .CommonLabels.alertname }}{{ end }}\n"
    '{{ define "edge.sns.message" }}{{ range .Alerts -}}\n'
    "{{ .Status | toUpper }} {{ .Labels.alertname }}: "
    "{{ with .Annotations.summary }}{{ . }}{{ else }}{{ $.CommonLabels.alertname }}{{ end }}\n"
    "{{ range .Labels.SortedPairs }}" + alert_notice.LABEL + "{{ .Name }}: {{ .Value }}\n"
    "{{ end }}{{ range .Annotations.SortedPairs }}"
    + alert_notice.ANNOTATION
    + "{{ .Name }}: {{ .Value }}\n{{ end }}{{ end }}{{ end }}\n"
)


def config(topics: Mapping[str, str], region: str, template_path: str) -> dict[str, Any]:
    """The configuration for ``topics`` (severity -> topic ARN, all four)."""
    missing = set(SEVERITIES) - set(topics)
    if missing:
        raise ValueError(f"no topic for severities {sorted(missing)}")
    routes = []
    for sev in SEVERITIES:
        wait, interval, repeat = TIMING[sev]
        routes.append(
            {
                "receiver": f"sns-{sev}",
                "matchers": [f'severity=~"{MATCHERS[sev]}"'],
                "group_wait": wait,
                "group_interval": interval,
                "repeat_interval": repeat,
            }
        )
    wait, interval, repeat = TIMING[DEFAULT_SEVERITY]
    return {
        "global": {"resolve_timeout": "5m"},
        "templates": [template_path],
        "route": {
            "receiver": f"sns-{DEFAULT_SEVERITY}",
            "group_by": ["..."],
            "group_wait": wait,
            "group_interval": interval,
            "repeat_interval": repeat,
            "routes": routes,
        },
        "receivers": [
            {
                "name": f"sns-{sev}",
                "sns_configs": [
                    {
                        "topic_arn": topics[sev],
                        "sigv4": {"region": region},
                        "send_resolved": True,
                        "subject": '{{ template "edge.sns.subject" . }}',
                        "message": '{{ template "edge.sns.message" . }}',
                        "attributes": dict(ATTRIBUTE_TEMPLATES),
                    }
                ],
            }
            for sev in SEVERITIES
        ],
    }


def runbook_filter_policy(runbook: str) -> dict[str, list[str]]:
    """The SNS subscription filter that starts ``runbook`` from the alerts naming it: firing
    only (a resolution never starts a runbook, and trading resumes by a person's hand)."""
    return {"source": [alert_notice.SOURCE], "runbook": [runbook], "status": ["firing"]}


def topic_of(severity_label: str) -> str:
    """The topic (a severity of SEVERITIES) a rule's ``severity`` label routes to."""
    for sev in SEVERITIES:
        if re.fullmatch(MATCHERS[sev], severity_label):
            return sev
    return DEFAULT_SEVERITY


def runbook_topics(rules: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    """Each runbook the rules name (``runbook`` annotation), with the topics their alerts
    are published to: where the runbook must be subscribed."""
    out: dict[str, set[str]] = {}
    for rule in rules.values():
        runbook = (rule.get("annotations") or {}).get("runbook")
        if runbook:
            severity = str((rule.get("labels") or {}).get("severity", ""))
            out.setdefault(str(runbook), set()).add(topic_of(severity))
    return out


def render(topics: Mapping[str, str], region: str, template_path: str) -> str:
    header = (
        "# Generated by infra/monitoring/alertmanager_sns.py (the host's Alertmanager, with\n"
        "# example topics): edit that module, then run\n"
        "# python -m infra.monitoring.alertmanager_sns\n"
    )
    body = yaml.safe_dump(config(topics, region, template_path), sort_keys=False, width=200)
    return header + body


def example() -> dict[Path, str]:
    topics = {sev: EXAMPLE_TOPIC.format(severity=sev) for sev in SEVERITIES}
    return {
        CONFIG_FILE: render(topics, EXAMPLE_REGION, TEMPLATE_NAME),
        TEMPLATE_FILE: TEMPLATE,
    }


def main(argv: list[str]) -> int:
    files = example()
    if argv[1:] == ["--check"]:
        stale = [p.name for p, text in files.items() if not p.exists() or p.read_text() != text]
        if stale:
            print(f"{', '.join(stale)} differ: run python -m infra.monitoring.alertmanager_sns")
            return 1
        return 0
    for path, text in files.items():
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
