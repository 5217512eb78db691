"""The node's API bearer token: 64 hex characters, as seed 002's ``openssl rand -hex 32``.

There is nothing to "set" on a server: the node reads its token from Secrets Manager and
accepts AWSCURRENT and AWSPENDING during a rotation (and AWSPREVIOUS for a grace period after),
so the pending token works as soon as it exists. The test step proves it when a node URL is
configured: the node's authenticated ``/health`` must not refuse the pending token (401/403);
any other answer, even 503 from an unhealthy node, means the token got through.
"""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.request

from functions.common.errors import OpsError, Unavailable

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class PendingSecretRefused(OpsError):
    """The far side refused the pending value: the rotation must not finish. Secrets Manager
    retries the rotation; if it keeps failing, look at the far side (is it reading the
    secret?) before finishing by hand."""

    kind = "pending_refused"


def new_token() -> str:
    return secrets.token_hex(32)


class ApiTokenRotator:
    def __init__(self, node_url: str | None = None, timeout_s: float = 5.0) -> None:
        self.node_url = node_url.rstrip("/") if node_url else None
        self.timeout_s = timeout_s

    def create(self, current: str) -> str:
        return new_token()

    def set(self, current: str, pending: str) -> bool:
        _check_format(pending)
        return True  # the node reads the pending token itself

    def test(self, pending: str) -> None:
        _check_format(pending)
        if self.node_url is None:
            return
        url = f"{self.node_url}/health"
        request = urllib.request.Request(  # noqa: S310 (our own configured http(s) URL)
            url, headers={"Authorization": f"Bearer {pending}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310
                answer.read()
        except urllib.error.HTTPError as err:
            if err.code in (401, 403):
                raise PendingSecretRefused(
                    f"the node at {self.node_url} refused the pending token ({err.code})"
                ) from None
            # any other status passed the authentication: the token works
        except (urllib.error.URLError, OSError) as err:
            raise Unavailable(f"the node at {self.node_url} did not answer: {err}") from None


def _check_format(value: str) -> None:
    if not _HEX64.fullmatch(value):
        # never quote the value: it is the secret
        raise PendingSecretRefused("the pending token is not 64 lowercase hex characters")
