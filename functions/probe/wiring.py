"""The probe's sources built from its settings: the node's token (a secret, fetched anew on a
401), the RPC endpoints (settings or a secret), the backups' catalog. Used by the handler and by
``edge-ops probe``; no client is created here (``AwsClients`` creates them on first use).

``Sources`` is kept by the handler across warm invocations, so that its ``SecretSource`` caches
the secrets (``secret_max_age_s``) instead of reading them every minute; a 401 refetches the
token at once whatever its age.
"""

from __future__ import annotations

import json
import threading

from functions.common.aws import AwsClients, AwsOptions
from functions.common.errors import BadInput
from functions.common.s3url import S3Location
from functions.common.secrets import SecretSource
from functions.probe.backups import newest_verified
from functions.probe.run import BackupFreshness, EndpointList, Limits, Target, TokenFetch
from functions.probe.settings import ProbeSettings, parse_endpoints


def token_from_secret_value(value: str, secret_id: str) -> str:
    """The token from a secret: the bare token, or a JSON object with a ``token`` field."""
    text = value.strip()
    if text.startswith("{"):
        try:
            field = json.loads(text).get("token")
        except (ValueError, AttributeError):
            field = None
        if not isinstance(field, str) or not field.strip():
            raise BadInput(f"secret {secret_id!r} is JSON without a 'token' string")
        text = field.strip()
    if not text:
        raise BadInput(f"secret {secret_id!r} is empty")
    return text


class Sources:
    """The AWS clients and the secrets cache one process uses (created on first use)."""

    def __init__(self, clients: AwsClients, secret_max_age_s: int = 300) -> None:
        self.clients = clients
        self.secret_max_age_s = secret_max_age_s
        self._secrets: SecretSource | None = None
        # The token and the endpoints' list are read from two of the probe's threads at once:
        # one cache for both, or the value one thread caches is lost with its instance.
        self._lock = threading.Lock()

    @property
    def secrets(self) -> SecretSource:
        with self._lock:
            if self._secrets is None:
                self._secrets = SecretSource(self.clients.secretsmanager, self.secret_max_age_s)
            return self._secrets


def token_source(settings: ProbeSettings, sources: Sources) -> TokenFetch:
    if settings.node_token is not None:
        fixed = settings.node_token.get_secret_value()
        return lambda _force: fixed
    secret_id = settings.node_token_secret_id
    if secret_id is None:
        raise BadInput(
            "no API token for the node's /health: set EDGE_OPS_NODE_TOKEN_SECRET_ID "
            "(or EDGE_OPS_NODE_TOKEN on a laptop)"
        )
    return lambda force: token_from_secret_value(
        sources.secrets.get(secret_id, force=force), secret_id
    )


def endpoint_source(settings: ProbeSettings, sources: Sources) -> EndpointList:
    if settings.rpc_endpoints is not None:
        given = parse_endpoints(settings.rpc_endpoints.get_secret_value(), "EDGE_OPS_RPC_ENDPOINTS")
        return lambda: given
    secret_id = settings.rpc_endpoints_secret_id
    if secret_id is None:
        return dict
    return lambda: parse_endpoints(sources.secrets.get(secret_id), f"secret {secret_id!r}")


def backup_source(settings: ProbeSettings, sources: Sources) -> BackupFreshness | None:
    if not settings.backup_location:
        return None
    location = S3Location.parse(settings.backup_location, require_prefix=True)
    return lambda: newest_verified(sources.clients.s3, location)


def target(settings: ProbeSettings, sources: Sources) -> Target:
    """Everything the probe looks at; ``BadInput`` for a setting that cannot work."""
    return Target(
        node_name=settings.node_name,
        node_url=settings.require_node_url(),
        token=token_source(settings, sources),
        endpoints=endpoint_source(settings, sources),
        backup=backup_source(settings, sources),
    )


def aws_options(settings: ProbeSettings) -> AwsOptions:
    """Secrets Manager and S3 calls inside the probe's deadline: short timeouts, one retry."""
    return AwsOptions(
        connect_timeout_s=min(settings.aws_connect_timeout_s, settings.probe_call_timeout_s),
        read_timeout_s=min(settings.aws_read_timeout_s, settings.probe_call_timeout_s),
        max_attempts=min(settings.aws_max_attempts, 2),
    )


def limits(settings: ProbeSettings) -> Limits:
    return Limits(settings.probe_call_timeout_s, settings.probe_deadline_s)
