from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def stack_config(tmp_path: Path) -> tuple[dict[str, str], list[str]]:
    from tests.infra.program import base_config

    return base_config(tmp_path)
