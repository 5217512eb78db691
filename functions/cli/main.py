"""The ``edge-ops`` command group.

Each command group lives in its own module and is added below with one ``cli.add_command``
line, so that branches adding commands touch one line here each.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import TYPE_CHECKING

import click

from functions.backup import cli as backup_cli
from functions.cli.output import emit, json_option, run
from functions.cli.prune import prune as prune_command
from functions.cli.report import report as report_command
from functions.common.errors import Unavailable
from functions.fanout.cli import alert
from functions.probe import cli as probe_cli
from functions.rotation import cli as rotation_cli
from functions.runbook import cli as runbook_cli

if TYPE_CHECKING:
    from functions.common.settings import OpsSettings

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
def cli() -> None:
    """Operations for the edge node's store: backups, verification, restore, drills,
    reports and data retention; secret rotation and secret ages.

    Runs the same code as the scheduled functions, against any store URL (sqlite:/// or
    postgresql://) and any S3: real AWS, or the endpoint in AWS_ENDPOINT_URL (a moto server).
    Every command takes --json; exit status 0 means success, 2 bad input, 1 any other failure.
    """


@cli.command()
@json_option
def version(as_json: bool) -> None:
    """Versions of edge-ops, Python, powertools, and the schema revision this code expects."""
    from shared.db.engine import head_revision

    emit(
        {
            "edge_ops": metadata.version("edge-node"),
            "python": platform.python_version(),
            "aws_lambda_powertools": metadata.version("aws-lambda-powertools"),
            "boto3": metadata.version("boto3"),
            "schema_head": head_revision(),
        },
        as_json,
    )


@cli.command()
@click.option(
    "--check-aws", is_flag=True, help="Also ask AWS (STS) which account these credentials reach."
)
@json_option
def settings(check_aws: bool, as_json: bool) -> None:
    """The settings read from the environment (secrets hidden) and the AWS endpoint in use."""
    from functions.common.settings import load_settings

    s = load_settings()
    shown = s.model_dump(mode="json")
    if s.database_url is not None:
        from shared.db.engine import redact_url

        shown["database_url"] = redact_url(s.database_url.get_secret_value())
    shown["aws_endpoint_url"] = os.environ.get("AWS_ENDPOINT_URL") or "(AWS)"
    shown["aws_region"] = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if check_aws:
        shown["aws_identity"] = _caller_identity(s)
    emit(shown, as_json)


def _caller_identity(s: OpsSettings) -> dict[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    from functions.common.aws import AwsClients, AwsOptions, error_code

    try:
        answer = AwsClients(AwsOptions.from_settings(s)).client("sts").get_caller_identity()
    except ClientError as err:
        raise Unavailable(f"AWS refused the credentials ({error_code(err)})") from err
    except BotoCoreError as err:
        raise Unavailable(f"could not reach AWS: {err}") from err
    return {"account": answer["Account"], "arn": answer["Arn"]}


# Command groups of the functions (one line each):
cli.add_command(prune_command)
cli.add_command(report_command)
cli.add_command(runbook_cli.runbook)
cli.add_command(runbook_cli.incident_report)
for _command in backup_cli.COMMANDS:  # backup, backups, verify, restore, drill, retention
    cli.add_command(_command)
cli.add_command(probe_cli.probe)
cli.add_command(alert)
cli.add_command(rotation_cli.rotate)
cli.add_command(rotation_cli.secrets)


def main() -> None:
    run(cli)


if __name__ == "__main__":
    main()
