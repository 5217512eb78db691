"""What a runbook reaches, built once per run from the settings (clients passed in, so tests and
the CLI choose their endpoints), and the clock it waits with."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from functions.common.errors import BadInput
from shared import remote_control
from shared.node_api import NodeApi

if TYPE_CHECKING:
    from functions.common.aws import AwsClients
    from functions.common.s3url import S3Location
    from functions.common.store import Store
    from functions.runbook.settings import RunbookSettings


@dataclass
class Context:
    settings: RunbookSettings
    aws: AwsClients
    actor: str  # who acts: runbook:<name> for a function, cli:<user> for a person
    api: NodeApi | None = None
    store: Store | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    _disposers: list[Callable[[], None]] = field(default_factory=list)

    def surfaces(self) -> remote_control.Surfaces:
        s = self.settings
        write_db: remote_control.DbWriter | None = None
        store = self.store
        if store is not None:
            from shared import control_flags

            def write_db(key: str, value: bool, actor: str, reason: str) -> None:
                store.run(lambda e: control_flags.write_db_flag(e, key, value, actor, reason))

        return remote_control.Surfaces(
            api=self.api,
            write_db_flag=write_db,
            ssm=self.aws.ssm if s.stop_parameter else None,
            ssm_parameter=s.stop_parameter,
        )

    def incidents(self) -> S3Location | None:
        from functions.common.s3url import S3Location

        s = self.settings.incidents_to
        return S3Location.parse(s, require_prefix=True) if s else None

    def health(self) -> dict[str, Any] | None:
        """The node's /health, or None if it does not answer with one."""
        from shared.node_api import ApiUnreachable

        if self.api is None:
            return None
        try:
            code, body = self.api.health()
        except ApiUnreachable:
            return None
        return body if code in (200, 503) and isinstance(body, dict) else None

    def wait_until(self, check: Callable[[], bool], within_s: float) -> float | None:
        """Seconds until ``check()`` held, or None if it never did within ``within_s``."""
        start = self.clock()
        while True:
            if check():
                return self.clock() - start
            if self.clock() - start >= within_s:
                return None
            self.sleep(min(self.settings.poll_s, max(0.0, within_s - (self.clock() - start))))


def build(settings: RunbookSettings, aws: AwsClients, actor: str, *, need_store: bool) -> Context:
    """The context a run needs; the API token is read from Secrets Manager when configured."""
    token: str | None = None
    if settings.api_token is not None:
        token = settings.api_token.get_secret_value()
    elif settings.api_token_secret_id:
        from functions.common.secrets import SecretSource

        raw = SecretSource(aws.secretsmanager, settings.secret_max_age_s).get(
            settings.api_token_secret_id
        )
        token = _token_from(raw)
    api = NodeApi(settings.node_url, token, settings.node_timeout_s) if settings.node_url else None
    store: Store | None = None
    if need_store and (settings.database_url or settings.database_secret_id):
        from functions.common.secrets import SecretSource
        from functions.common.store import Store

        secrets = SecretSource(aws.secretsmanager, settings.secret_max_age_s)
        store = Store.from_settings(settings, secrets)
    return Context(settings, aws, actor, api, store)


def _token_from(raw: str) -> str:
    """The token secret holds the token, or a JSON object with a ``token`` field."""
    import json

    text = raw.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text).get("token")
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str) or not value:
            raise BadInput("the API token secret is a JSON object without a 'token' string")
        return value
    return text
