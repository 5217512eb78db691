"""The node's secrets that may rotate: the store's credentials and the API's token, from the
config (or the environment) or from AWS Secrets Manager (``store.secret_id``,
``api.token_secret_id``; region, refresh and grace in ``[secrets]``).

A secret that cannot be read at start stops the start with a message naming the setting;
after that, a failed refresh keeps what was last read working and logs a warning."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from edge_node.api_tokens import Authenticator, SecretTokens, StaticToken
from shared.config import ConfigError, NodeConfig
from shared.db.credentials import RotatingLogin, attach, login_of
from shared.db.engine import create_engine, redact_url
from shared.secret_versions import SecretUnreadable, secrets_client


class NodeSecrets:
    def __init__(self, cfg: NodeConfig, client: Any | None = None) -> None:
        self.cfg = cfg
        self._client = client

    @property
    def client(self) -> Any:
        """One Secrets Manager client, made when first needed (AWS_ENDPOINT_URL honoured)."""
        if self._client is None:
            from botocore.exceptions import NoRegionError

            try:
                self._client = secrets_client(self.cfg.secrets.region, self.cfg.secrets.timeout_s)
            except NoRegionError:
                raise ConfigError(
                    "config",
                    ["secrets.region: required to read secrets (or set AWS_REGION)"],
                ) from None
        return self._client

    def store_engine(self) -> Engine:
        """The store's engine: from ``store.url``, or from the secret with credentials that
        follow its rotations (see ``shared.db.credentials``)."""
        secret_id = self.cfg.store.secret_id
        if secret_id is None:
            return create_engine(self.cfg.store.url)
        try:
            login = RotatingLogin(
                self.client, secret_id, min_gap_s=self.cfg.secrets.min_refresh_gap_s
            )
        except SecretUnreadable as err:
            raise ConfigError("config", [f"store.secret_id: {err}"]) from None
        return attach(create_engine(login.url().render_as_string(hide_password=False)), login)

    async def api_authenticator(self) -> Authenticator:
        secret_id = self.cfg.api.token_secret_id
        if secret_id is None:
            token = self.cfg.api_token()
            if not token:
                raise ConfigError(
                    "config",
                    [
                        "api.token: required (set it in the file or in EDGE_API_TOKEN, or name "
                        "a Secrets Manager secret in api.token_secret_id)"
                    ],
                )
            return StaticToken(token)
        s = self.cfg.secrets
        tokens = SecretTokens(
            self.client,
            secret_id,
            grace_s=s.previous_grace_s,
            refresh_s=s.refresh_s,
            min_gap_s=s.min_refresh_gap_s,
        )
        try:
            await tokens.start()
        except SecretUnreadable as err:
            raise ConfigError("config", [f"api.token_secret_id: {err}"]) from None
        return tokens


def connected_url(engine: Engine) -> str:
    """The URL ``engine`` connects to, password hidden: what the store is (its backend, its
    file) whether it came from ``store.url`` or from ``store.secret_id``, where ``store.url``
    keeps its default and names no store at all."""
    return engine.url.render_as_string(hide_password=True)


def store_shown(cfg: NodeConfig, engine: Engine) -> str:
    """The store's URL for logs and status (password hidden; the secret's id if any)."""
    login = login_of(engine)
    if login is None:
        return redact_url(cfg.store.url)
    shown = engine.url.render_as_string(hide_password=True)
    return f"{shown} (credentials from secret {login.secret_id})"
