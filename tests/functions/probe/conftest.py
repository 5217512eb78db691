"""Fixtures of the probe's tests: verified backups made by the backup functions' own code, and
EMF records read with their dimensions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from functions.backup import catalog
from functions.backup.create import create_backup
from functions.backup.objects import S3Objects
from functions.backup.verify import verify
from functions.common.s3url import S3Location
from tests.functions.backup.store_data import populate
from tests.functions.events import json_lines


def make_backup(
    s3: Any, location: S3Location, tmp_path: Path, at: datetime, *, verified: bool = True
) -> str:
    """A real backup of a small SQLite store taken "at" a time, verified (restored into a
    scratch copy and checked) if asked; returns its id."""
    db = tmp_path / f"store-{at:%Y%m%d%H%M%S}.db"
    populate(f"sqlite:///{db}", 30)
    store = S3Objects(s3, location.bucket)
    manifest = create_backup(f"sqlite:///{db}", store, location.prefix, clock=lambda: at)
    if verified:
        entry = catalog.find(catalog.scan(store, location.prefix), manifest.id)
        result = verify(store, location.prefix, entry, None, tmp_dir=tmp_path, clock=lambda: at)
        assert result.verification.state == "verified", result
    return manifest.id


Points = dict[tuple[str, frozenset[tuple[str, str]]], float]


def emf_points(text: str) -> Points:
    """(metric, its dimensions) -> value, from the EMF records printed (service and
    environment dimensions left out)."""
    out: Points = {}
    for record in json_lines(text):
        aws = record.get("_aws")
        if not isinstance(aws, dict):
            continue
        for directive in aws["CloudWatchMetrics"]:
            assert directive["Namespace"] == "EdgeOps"
            (dims,) = directive["Dimensions"]
            key_dims = frozenset(
                (d, str(record[d])) for d in dims if d not in ("service", "environment")
            )
            assert record["service"] == "probe"
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                out[(metric["Name"], key_dims)] = float(
                    value[0] if isinstance(value, list) else value
                )
    return out


def check_ok(points: Points, check: str, **dim: str) -> float:
    return points[("ProbeCheckOk", frozenset({("Check", check), *dim.items()}))]
