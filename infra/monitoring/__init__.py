"""Monitoring as code: the Prometheus rules and their promtool tests, the Alertmanager routes,
the Grafana dashboards. Beside the Pulumi program because they deploy with it and name what
its catalogue names (runbooks, severities); read by tests/infra/monitoring."""
