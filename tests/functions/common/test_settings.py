from __future__ import annotations

import pytest

from functions.common.errors import BadInput
from functions.common.settings import OpsSettings, load_settings


@pytest.fixture(autouse=True)
def _no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)


def test_defaults_without_any_variable() -> None:
    s = load_settings()
    assert s.database_url is None and s.database_secret_id is None
    assert (s.aws_connect_timeout_s, s.aws_read_timeout_s, s.aws_max_attempts) == (3.0, 20.0, 4)
    assert s.secret_max_age_s == 300
    assert s.environment == "dev"


@pytest.mark.parametrize("name", ["DATABASE_URL", "EDGE_OPS_DATABASE_URL"])
def test_database_url_from_either_variable_and_hidden_in_repr(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "postgresql://edge:hunter22@db:5432/edge")
    s = load_settings()
    assert s.database_url is not None
    assert s.database_url.get_secret_value() == "postgresql://edge:hunter22@db:5432/edge"
    assert "hunter22" not in repr(s) and "hunter22" not in str(s)


def test_url_and_secret_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("EDGE_OPS_DATABASE_SECRET_ID", "edge/db")
    with pytest.raises(BadInput, match="EDGE_OPS_DATABASE_SECRET_ID, not both"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EDGE_OPS_AWS_MAX_ATTEMPTS", "many"),
        ("EDGE_OPS_AWS_MAX_ATTEMPTS", "0"),
        ("EDGE_OPS_AWS_READ_TIMEOUT_S", "-1"),
        ("EDGE_OPS_SECRET_MAX_AGE_S", "99999999"),
        ("EDGE_OPS_NOTIFY_TOPIC_ARN", "not-an-arn"),
        ("EDGE_OPS_ENVIRONMENT", "prod east"),
    ],
)
def test_a_bad_variable_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(BadInput) as err:
        load_settings()
    message = str(err.value)
    assert name in message
    assert "\n" not in message


def test_a_subclass_adds_its_own_prefixed_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    class BackupSettings(OpsSettings):
        backup_location: str

    with pytest.raises(BadInput, match="EDGE_OPS_BACKUP_LOCATION: Field required"):
        load_settings(BackupSettings)
    monkeypatch.setenv("EDGE_OPS_BACKUP_LOCATION", "s3://b/p")
    monkeypatch.setenv("EDGE_OPS_AWS_MAX_ATTEMPTS", "2")
    s = load_settings(BackupSettings)
    assert (s.backup_location, s.aws_max_attempts) == ("s3://b/p", 2)


def test_an_aliased_field_is_named_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import AliasChoices, Field

    class ReportSettings(OpsSettings):
        report_days: int = Field(
            default=1, validation_alias=AliasChoices("EDGE_OPS_REPORT_DAYS", "REPORT_DAYS")
        )

    monkeypatch.setenv("REPORT_DAYS", "x")
    with pytest.raises(BadInput) as err:
        load_settings(ReportSettings)
    assert "EDGE_OPS_EDGE_OPS" not in str(err.value)
    assert "REPORT_DAYS: Input should be a valid integer" in str(err.value)
