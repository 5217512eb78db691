"""The edge host's boot text, without Pulumi: config template, stop timeout, user data."""

from __future__ import annotations

import base64
import gzip
import hashlib
import tomllib

import pytest

from infra.host_boot import (
    STOP_MARGIN_S,
    USER_DATA_LIMIT,
    BadHostConfig,
    Boot,
    Release,
    node_config,
    packed,
    stop_timeout_s,
    unit,
    user_data,
    with_alerts_topic,
)
from shared.config import AlertsConfig
from tests.infra.program import ENDPOINTS_SHAPE, NODE_TOML, SHA

RELEASE = Release("https://releases.example.com/edge_node-0.1.0-py3-none-any.whl", SHA)


def boot(**kw: object) -> Boot:
    base: dict[str, object] = {
        "release": RELEASE, "region": "eu-west-1", "stop_timeout_s": 75,
        "config_parameter": "/edge-prod/c", "token_secret_arn": "arn:t",
        "db_secret_arn": "arn:d", "rpc_secret_arn": "arn:r", "log_group": "/edge-prod/edge-node",
    }  # fmt: skip
    base.update(kw)
    return Boot(**base)  # type: ignore[arg-type]


def test_the_template_gets_the_stacks_surfaces_and_the_drain_timeout() -> None:
    text, drain = node_config(
        NODE_TOML,
        ssm_parameter="/edge-prod/emergency-stop",
        region="eu-west-1",
        api_port=8080,
        endpoints=ENDPOINTS_SHAPE,
    )
    data = tomllib.loads(text)
    assert drain == 45
    assert data["control"]["ssm_parameter"] == "/edge-prod/emergency-stop"
    assert data["api"] == {"host": "0.0.0.0", "port": 8080}
    assert stop_timeout_s(drain) == 45 + STOP_MARGIN_S
    # the node's own default when the template says nothing
    without = NODE_TOML.replace("[control]\ndrain_timeout_s = 45\n", "")
    assert without != NODE_TOML
    _, default = node_config(
        without, ssm_parameter="/p", region="eu-west-1", api_port=8080, endpoints=ENDPOINTS_SHAPE
    )
    assert default == 30


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[endpoints]]\nname = "a"\nws_url = "wss://x/KEY"\n', "rpcEndpoints"),
        ('[api]\ntoken = "0123456789abcdef0"\n', "api.token"),
        ("not = [toml", "not valid TOML"),
        ("[control]\ndrain_timeout_s = -1\n", "drain_timeout_s"),
        ("api = 1\n", r"nodeConfig: api must be a table \(\[api\]\)"),
        ('secrets = "x"\n', r"nodeConfig: secrets must be a table"),
        # what only the node checks: refused at deploy with its own words, not a boot loop
        (
            "[chain]\nchain_id = 56\n",
            "the node would refuse it with the rpcEndpoints secret: pools: Field required",
        ),
        (
            NODE_TOML.replace("decimals0 = 18\n", ""),
            "the rpcEndpoints secret: pools.0.decimals0: Field required",
        ),
    ],
)
def test_a_template_that_cannot_work_is_refused(text: str, problem: str) -> None:
    with pytest.raises(BadHostConfig, match=problem):
        node_config(
            text, ssm_parameter="/p", region="eu-west-1", api_port=8080, endpoints=ENDPOINTS_SHAPE
        )


def test_an_operators_alert_topic_is_no_reason_to_refuse() -> None:
    # the stack replaces it (with_alerts_topic): a placeholder is not what the node reads
    text = NODE_TOML + '\n[alerts]\nsns_topic_arn = "set-by-the-stack"\nqueue_max = 500\n'
    kept, _ = node_config(
        text, ssm_parameter="/p", region="eu-west-1", api_port=8080, endpoints=ENDPOINTS_SHAPE
    )
    assert tomllib.loads(kept)["alerts"]["queue_max"] == 500


def test_a_template_in_websocket_mode_needs_an_endpoint_with_a_ws_url() -> None:
    # NODE_TOML says websocket = true: the node refuses to start if no endpoint has a ws_url
    with pytest.raises(BadHostConfig, match=r"with the rpcEndpoints secret: .*ws_url"):
        node_config(
            NODE_TOML, ssm_parameter="/p", region="eu-west-1", api_port=8080,
            endpoints=[("a", False), ("b", False)],
        )  # fmt: skip
    polling = NODE_TOML.replace("websocket = true", "websocket = false")
    assert polling != NODE_TOML
    node_config(polling, ssm_parameter="/p", region="eu-west-1", api_port=8080,
                endpoints=[("a", False)])  # fmt: skip


def test_the_unit_restarts_always_and_outlasts_the_drain() -> None:
    u = unit(boot(live=True))
    assert "Restart=always" in u and "TimeoutStopSec=75" in u
    assert "edge-node run --config /run/edge-node/node.toml --live" in u
    assert "--live" not in unit(boot())
    assert "Environment=PGSSLMODE=require" in u  # libpq never falls back to plain text


def test_user_data_checks_the_release_and_fits_ec2s_limit() -> None:
    text = user_data(boot())
    assert f"echo '{SHA}  /opt/edge-node/edge_node-0.1.0-py3-none-any.whl'" in text
    assert "sha256sum --check --strict" in text
    assert len(text.encode()) < 16 * 1024
    for heredoc in ("PREPARE", "UNIT", "AGENT", "ROTATE"):
        assert f"\n{heredoc}\n" in text  # each heredoc is closed


def test_packed_user_data_is_what_cloud_init_unpacks() -> None:
    text = user_data(boot())
    assert gzip.decompress(base64.b64decode(packed(text))).decode() == text
    assert packed(text) == packed(text)  # the same text, the same bytes: no spurious replace


def test_user_data_over_ec2s_limit_compressed_is_refused_when_packed() -> None:
    # hex digests barely compress: twice the limit of them stays over it gzipped
    noise = "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(1024))
    assert len(noise) == 2 * 32 * 1024
    with pytest.raises(BadHostConfig, match=r"user data is \d+ bytes compressed, over EC2's"):
        packed(user_data(boot()) + f"# {noise}\n")
    # what fits packs
    fits = noise[:USER_DATA_LIMIT]
    assert len(gzip.compress(fits.encode(), 9, mtime=0)) < USER_DATA_LIMIT
    assert gzip.decompress(base64.b64decode(packed(fits))).decode() == fits


@pytest.mark.parametrize(
    ("url", "sha"),
    [
        ("http://releases.example.com/edge_node-0.1.0-py3-none-any.whl", SHA),
        ("https://releases.example.com/other-0.1.0-py3-none-any.whl", SHA),
        ("https://releases.example.com/edge_node-0.1.0-py3-none-any.whl", "abc"),
    ],
)
def test_an_unpinned_release_is_refused(url: str, sha: str) -> None:
    with pytest.raises(BadHostConfig):
        Release(url, sha)


def test_the_stack_sets_the_nodes_alert_topic_and_keeps_the_rest() -> None:
    topic = "arn:aws:sns:eu-west-1:123456789012:edge-prod-alerts-critical"
    template = '[alerts]\nsns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:other"\n'
    data = tomllib.loads(with_alerts_topic(template + "queue_max = 7\n", topic))
    assert data["alerts"] == {"sns_topic_arn": topic, "queue_max": 7}
    # and the node accepts what the stack wrote
    assert AlertsConfig.model_validate(data["alerts"]).region == "eu-west-1"
    assert tomllib.loads(with_alerts_topic(NODE_TOML, topic))["alerts"]["sns_topic_arn"] == topic
