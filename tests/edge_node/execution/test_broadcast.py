"""Broadcasting: the same bytes to every endpoint, answers classified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edge_node.devchain.anvil import Anvil
from edge_node.execution import broadcast as bc
from edge_node.execution.broadcast import Broadcaster, BroadcastResult, classify
from edge_node.execution.signing import TxSigner, sign_self_transfer
from edge_node.telemetry import Metrics
from shared.config import EndpointConfig
from tests.support.process import free_port


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("already known", bc.ALREADY_KNOWN),
        ("known transaction: 0xabc", bc.ALREADY_KNOWN),
        ("nonce too low: next nonce 5, tx nonce 4", bc.NONCE_TOO_LOW),
        ("Nonce too low", bc.NONCE_TOO_LOW),
        ("transaction underpriced", bc.UNDERPRICED),
        ("replacement transaction underpriced", bc.UNDERPRICED),
        ("max fee per gas less than block base fee", bc.UNDERPRICED),
        ("insufficient funds for gas * price + value", bc.INSUFFICIENT_FUNDS),
        ("execution reverted", bc.REJECTED),
    ],
)
def test_classify(message: str, kind: str) -> None:
    assert classify(message) == kind


def test_the_class_every_endpoint_agrees_on() -> None:
    assert BroadcastResult(["a"], {"b": bc.UNDERPRICED}).error_class is None  # it is out
    assert BroadcastResult([], {"a": bc.UNDERPRICED, "b": bc.UNREACHABLE}).error_class == (
        bc.UNDERPRICED
    )
    assert BroadcastResult([], {"a": bc.UNREACHABLE}).error_class == bc.UNREACHABLE
    assert BroadcastResult([], {"a": bc.UNDERPRICED, "b": bc.NONCE_TOO_LOW}).error_class == (
        bc.REJECTED
    )


def test_live_trading_needs_an_http_endpoint() -> None:
    with pytest.raises(ValueError, match="http_url"):
        Broadcaster([EndpointConfig(name="ws-only", ws_url="ws://127.0.0.1:1")], Metrics(), 1.0)


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    with Anvil(chain_id=31337) as a:
        yield a


@pytest.mark.chain
async def test_one_endpoint_down_does_not_lose_the_transaction(anvil: Anvil) -> None:
    account = anvil.accounts[5]
    signer = TxSigner(bytes.fromhex(account.private_key.removeprefix("0x")), anvil.chain_id)
    nonce = int(anvil.rpc("eth_getTransactionCount", [account.address, "pending"]), 16)
    price = int(anvil.rpc("eth_gasPrice"), 16) * 2
    signed = sign_self_transfer(signer, nonce, gas_price=price)
    endpoints = [
        EndpointConfig(name="down", http_url=f"http://127.0.0.1:{free_port()}"),
        EndpointConfig(name="anvil", http_url=anvil.http_url),
    ]
    b = Broadcaster(endpoints, Metrics(), 2.0)
    anvil.set_automine(False)  # it stays pending until mined below
    try:
        result = await b.send(signed.raw_hex)
        assert result.accepted_by == ["anvil"]
        assert result.refused == {"down": bc.UNREACHABLE}
        again = await b.send(signed.raw_hex)  # the same bytes once more: already known
        assert again.accepted
        stale = sign_self_transfer(signer, nonce, gas_price=price // 4)  # same nonce, cheaper
        refused = await b.send(stale.raw_hex)
        assert not refused.accepted and refused.refused["anvil"] in (
            bc.UNDERPRICED,
            bc.NONCE_TOO_LOW,
        )
    finally:
        await b.close()
        anvil.mine()
        anvil.set_automine(True)
    receipt = anvil.rpc("eth_getTransactionReceipt", [signed.hash_hex])
    assert receipt is not None and int(receipt["status"], 16) == 1
