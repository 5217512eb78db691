"""``edge-ops`` as an operator runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json

from tests.functions.cli_runner import edge_ops


def test_help_lists_commands_and_exits_zero(cli_env: dict[str, str]) -> None:
    done = edge_ops("--help", env=cli_env)
    assert done.returncode == 0, done.stderr
    assert "Usage: edge-ops" in done.stdout
    for command in ("version", "settings"):
        assert command in done.stdout
        sub = edge_ops(command, "--help", env=cli_env)
        assert sub.returncode == 0 and "--json" in sub.stdout


def test_version_as_json(cli_env: dict[str, str]) -> None:
    done = edge_ops("version", "--json", env=cli_env)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["edge_ops"] and info["schema_head"]
    assert info["aws_lambda_powertools"] == "3.37.0"


def test_settings_show_the_endpoint_and_hide_the_password(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "DATABASE_URL": "postgresql://edge:hunter22@db:5432/edge"}
    done = edge_ops("settings", "--json", env=env)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["aws_endpoint_url"] == cli_env["AWS_ENDPOINT_URL"]
    assert shown["database_url"] == "postgresql+psycopg://edge:***@db:5432/edge"
    assert "hunter22" not in done.stdout + done.stderr
    human = edge_ops("settings", env=env)
    assert human.returncode == 0 and "aws_endpoint_url: http://127.0.0.1:" in human.stdout


def test_a_bad_environment_is_one_line_and_exit_2(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "EDGE_OPS_AWS_MAX_ATTEMPTS": "lots"}
    done = edge_ops("settings", env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("edge-ops: error: bad environment: EDGE_OPS_AWS_MAX_ATTEMPTS")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    as_json = edge_ops("settings", "--json", env=env)
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["error"]["kind"] == "bad_input"


def test_usage_errors_exit_2_without_traceback(cli_env: dict[str, str]) -> None:
    for args in (("no-such-command",), ("version", "--no-such-option")):
        done = edge_ops(*args, env=cli_env)
        assert done.returncode == 2, args
        assert "Traceback" not in done.stderr and "Error:" in done.stderr


def test_settings_check_aws_reaches_the_moto_server(cli_env: dict[str, str]) -> None:
    done = edge_ops("settings", "--check-aws", "--json", env=cli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["aws_identity"]["account"] == "123456789012"


def test_an_unreachable_aws_is_one_line_and_exit_1(cli_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **cli_env,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "EDGE_OPS_AWS_MAX_ATTEMPTS": "1",
    }
    done = edge_ops("settings", "--check-aws", env=env)
    assert done.returncode == 1
    assert done.stderr.startswith("edge-ops: error: could not reach AWS")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
