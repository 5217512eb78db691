"""How the CLI reaches the node's API and the remote stop flag: directly, and never for long."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge_node.cli import main
from shared import control_flags
from shared.config import parse_config
from shared.db.engine import create_engine
from tests.edge_node.test_cli import GOOD
from tests.support.config_file import write_config
from tests.support.silent_server import SilentServer, silent_server

TOKEN = "t" * 24


class Recorder(ThreadingHTTPServer):
    """An HTTP server that records each request (path and headers) and answers JSON."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.answer = json.dumps(answer).encode()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def _answer(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.answer)))
        self.end_headers()
        self.wfile.write(self.server.answer)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *_: Any) -> None:
        pass


def serving(server: Recorder) -> Iterator[Recorder]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def node_api() -> Iterator[Recorder]:
    yield from serving(Recorder({"status": "ok", "reasons": [], "state": "paused"}))


@pytest.fixture
def proxy() -> Iterator[Recorder]:
    yield from serving(Recorder({"status": "ok", "reasons": [], "state": "paused"}))


def config_for(tmp_path: Path, api_port: int, **control: Any) -> Path:
    data = {
        **GOOD,
        "api": {"token": TOKEN, "port": api_port, "host": "127.0.0.1"},
        "store": {"url": f"sqlite:///{tmp_path}/edge.db"},
        "control": control,
    }
    return write_config(parse_config(data, env={}), tmp_path / "edge.toml")


@pytest.mark.parametrize("var", ["HTTP_PROXY", "http_proxy"])
def test_the_token_never_goes_through_a_proxy_from_the_environment(
    node_api: Recorder,
    proxy: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    var: str,
) -> None:
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv(var, f"http://127.0.0.1:{proxy.port}")
    path = config_for(tmp_path, node_api.port)
    runner = CliRunner()
    assert runner.invoke(main, ["status", "--config", str(path)]).exit_code == 0
    assert runner.invoke(main, ["pause", "--config", str(path)]).exit_code == 0
    assert runner.invoke(main, ["health", "--config", str(path)]).exit_code == 0
    assert proxy.requests == []
    paths = [p for p, _ in node_api.requests]
    assert paths == ["/health", "/admin/pause", "/healthz"]
    assert node_api.requests[0][1]["Authorization"] == f"Bearer {TOKEN}"


@pytest.fixture
def silent_ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentServer]:
    """An SSM endpoint that accepts connections and never answers."""
    with silent_server() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", server.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        yield server


def test_emergency_stop_does_not_hang_on_an_ssm_that_never_answers(
    silent_ssm: SilentServer, tmp_path: Path
) -> None:
    path = config_for(tmp_path, 1, ssm_parameter="/edge/stop", aws_region="ap-southeast-1")
    outcome: dict[str, Any] = {}

    def stop() -> None:
        outcome["result"] = CliRunner().invoke(
            main, ["emergency-stop", "--config", str(path), "--reason", "drill"]
        )

    worker = threading.Thread(target=stop, daemon=True)
    worker.start()
    worker.join(60)  # boto3's defaults: 60 s per read, five tries; bounded: three of 2 s
    assert not worker.is_alive(), "emergency-stop hangs on SSM"
    result = outcome["result"]
    assert result.exit_code == 0, result.output  # the database flag holds the stop
    assert "database flag set" in result.output and "remote flag not set" in result.output
    assert 1 <= silent_ssm.connections_before_now() <= control_flags.SSM_MAX_ATTEMPTS + 1
    engine = create_engine(f"sqlite:///{tmp_path}/edge.db")
    assert control_flags.read_db_flags(engine).emergency_stop
    engine.dispose()


def test_the_cli_ssm_client_is_bounded_like_the_nodes() -> None:
    client = control_flags.ssm_client("ap-southeast-1")
    assert client.meta.config.connect_timeout == 2
    assert client.meta.config.read_timeout == 2
    assert client.meta.config.retries["total_max_attempts"] == control_flags.SSM_MAX_ATTEMPTS + 1
