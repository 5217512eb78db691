"""The whole chain on a laptop (issue 10 section 4): ``make stack`` / ``python -m laptop``.

Not part of the node's or the functions' artifacts: it puts them together on one machine with
stand-ins for what is remote (moto for AWS, a local HTTP server for Slack, PagerDuty and
Telegram) and the real Prometheus and Alertmanager from Debian's packages. Alerts travel the
deployed route: Alertmanager with the edge host's configuration publishes to the SNS topics (in
moto), whose deployed subscriptions deliver them to the fan-out and the runbook functions.
"""
