"""Runbooks an alarm triggers (issue 9 section 3): pause trading, emergency stop, restart a node
that is down, prune a growing store. Each acts only while its alarm is still in ALARM, once per
alarm state change, one run at a time per alarm; each writes the node's audit log, an incident
report to S3, and announces what it did through the fan-out."""
