"""What the estate runs, when, and what it alarms on: one table the program and its tests read.

Pure data, no Pulumi import. The schedules and thresholds come from the seeds
(/work/shared/seeds, quoted by number: 000 market-maker manual, 001 production manual, 002
operations manual, 003 paper-trading runbooks, 004 JIT runbook); metric names from what
``functions/`` publishes (EMF, namespace ``EdgeOps``, dimension ``service`` = the function's
package), or, for the functions not built yet, the names declared here (see ``PENDING``).

Read as ``from infra import catalog`` and ``catalog.X``; the table is split by concern:
``access`` (networks, access kinds), ``functions`` (the Lambda functions), ``runbooks``,
``rotation`` (secrets' schedules), ``retention`` (bucket prefixes, days kept), ``alarm`` (the
alarm record, severities, namespaces, deploy-time dimension values), ``node_alarms`` and
``job_alarms`` (the alarms themselves), ``alarms`` (all of them together).
"""

from infra.catalog.access import PGSSLMODE, Access, Network
from infra.catalog.alarm import (
    DAY,
    ENDPOINT,
    HOST_NAMESPACE,
    HOUR,
    INSTANCE,
    MINUTE,
    NAMESPACE,
    NODE,
    STACK,
    Alarm,
    Severity,
)
from infra.catalog.alarms import ALARMS, FUNCTION_ERRORS_SEVERITY, seeded_alarms
from infra.catalog.functions import FUNCTIONS, PENDING, Function, function
from infra.catalog.retention import (
    ABORT_MULTIPART_DAYS,
    ARCHIVE_PREFIX,
    BACKUP_TIERS,
    BACKUPS_PREFIX,
    INCIDENTS_PREFIX,
    LOG_RETENTION_DAYS,
    NONCURRENT_DAYS,
    REPORTS_DAYS,
    REPORTS_PREFIX,
)
from infra.catalog.rotation import ROTATION, SECRET_MAX_AGE_DAYS
from infra.catalog.runbooks import RUNBOOKS

__all__ = [
    "ABORT_MULTIPART_DAYS",
    "ALARMS",
    "ARCHIVE_PREFIX",
    "BACKUPS_PREFIX",
    "BACKUP_TIERS",
    "DAY",
    "ENDPOINT",
    "FUNCTIONS",
    "FUNCTION_ERRORS_SEVERITY",
    "HOST_NAMESPACE",
    "HOUR",
    "INCIDENTS_PREFIX",
    "INSTANCE",
    "LOG_RETENTION_DAYS",
    "MINUTE",
    "NAMESPACE",
    "NODE",
    "NONCURRENT_DAYS",
    "PENDING",
    "PGSSLMODE",
    "REPORTS_DAYS",
    "REPORTS_PREFIX",
    "ROTATION",
    "RUNBOOKS",
    "SECRET_MAX_AGE_DAYS",
    "STACK",
    "Access",
    "Alarm",
    "Function",
    "Network",
    "Severity",
    "function",
    "seeded_alarms",
]
