"""Bad stack configuration stops the program with one clean line (pulumi.RunError)."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pytest

from infra.functions import ArtifactsMissing
from infra.settings import BadStackConfig
from tests.infra.program import run

Config = tuple[dict[str, str], list[str]]


def _refused(config: dict[str, str], secrets: list[str], error: type, match: str) -> Any:
    with pytest.raises(error, match=match):
        run(config, secrets)

    async def nothing() -> None:
        await asyncio.sleep(0)

    return nothing()


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_a_secret_stored_in_plain_text_is_refused(stack_config: Config) -> Any:
    config, _ = stack_config
    return _refused(config, ["edge-node:alertChannels"], BadStackConfig, "rpcEndpoints.*plain")


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_missing_artifacts_are_named(stack_config: Config) -> Any:
    config, secrets = stack_config
    config["edge-node:artifactsDir"] = "/nonexistent/dist"
    return _refused(config, secrets, ArtifactsMissing, "make functions")


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_an_admin_range_too_wide_is_refused(stack_config: Config) -> Any:
    config, secrets = stack_config
    config["edge-node:adminCidr"] = "0.0.0.0/0"
    return _refused(config, secrets, BadStackConfig, "adminCidr")
