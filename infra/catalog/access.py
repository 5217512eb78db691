"""Where a function runs and what it may touch: the functions component turns each access kind
into IAM statements (infra/functions.py)."""

from __future__ import annotations

import enum


class Network(enum.StrEnum):
    PUBLIC = "public"  # outside the VPC: AWS APIs and the internet only
    VPC = "vpc"  # private subnets: reaches the database and the edge host's API


class Access(enum.StrEnum):
    """What a function may touch; the functions component turns each into IAM statements."""

    BACKUPS_RW = "backups-rw"  # the backups bucket: read, write, delete (retention)
    BACKUPS_RO = "backups-ro"
    # the reports bucket, one prefix each: reports, prune's archives, runbooks' incidents
    REPORTS_RW = "reports-rw"
    ARCHIVE_RW = "archive-rw"
    INCIDENTS_RW = "incidents-rw"
    DB_SECRET = "db-secret"  # read the database credentials
    API_TOKEN = "api-token"  # read the node's API token (the runbooks' settings names)
    PROBE_NODE = "probe-node"  # the same token, with the probe's settings names and node name
    RPC_KEYS = "rpc-keys"  # read the RPC endpoints (URLs carry keys)
    ALERT_SECRET = "alert-secret"  # the fan-out's webhooks and keys
    ALERT_TABLE = "alert-table"  # the fan-out's idempotency table
    ALERT_DLQ = "alert-dlq"  # the fan-out's dead letters: send (a redrive is the operator's)
    ALERT_EMAIL = "alert-email"  # SES, on the configured identity only (stack alertEmail)
    NOTIFY = "notify"  # publish to the low-severity topic (reports, runbook announcements)
    ROTATE_DB = "rotate-db"  # rotation steps on the database secret
    DB_ADMIN_SECRET = "db-admin-secret"  # read the master's secret (the rotation's masterarn)
    ROTATE_TOKEN = "rotate-token"  # rotation steps on the API token secret
    SECRET_AGE = "secret-age"  # describe the three secrets and list their versions (ages)
    STOP_FLAG = "stop-flag"  # write the node's SSM emergency-stop flag
    RUN_COMMAND = "run-command"  # SSM Run Command on the edge host (restart the service)
    RUNBOOK_LOCKS = "runbook-locks"  # the runbooks' lock and once-records (DynamoDB)
    ALARM_STATE = "alarm-state"  # read the alarms' state (a runbook acts only while in ALARM)


# The database is RDS, which speaks TLS: libpq (psycopg) must never fall back to plain text.
# Set in the environment of every process that connects (the functions reaching the database,
# the edge node's unit) rather than in the credentials secret, whose text the rotation owns
# once it is written (a changed text would replace the version and bring back an old password).
PGSSLMODE = "require"
