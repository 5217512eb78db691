"""Deploying a demo market (test tokens, V2-compatible pairs, a router) onto a local anvil.

The pairs emit the same events as PancakeSwap / Uniswap V2 pairs, so the edge node can index and
trade this market exactly as it would a real one, with prices chosen by the spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.types import TxReceipt

from edge_node.devchain.anvil import Anvil
from edge_node.devchain.solc import Artifact, load_artifact

MAX_UINT256 = 2**256 - 1
# Traders get this many times the liquidity of each token, so random swaps (a few % of a pool
# each) can run for a long time in one direction without draining anyone.
TRADER_FUNDING_MULTIPLE = 100
_RECEIPT_TIMEOUT_S = 60.0
_RECEIPT_POLL_S = 0.02


class DeploymentError(RuntimeError):
    """A deployment or setup transaction reverted or never got mined."""


@dataclass(frozen=True)
class PairSpec:
    base: str
    quote: str
    base_decimals: int
    quote_decimals: int
    price: float
    """Quote tokens per base token, in whole units."""
    base_liquidity: float
    """Base-token side of the initial liquidity, in whole units."""
    fee_bps: int = 25
    name: str | None = None

    def __post_init__(self) -> None:
        if self.base == self.quote:
            raise ValueError(f"pair {self.label} trades a token against itself")
        for decimals in (self.base_decimals, self.quote_decimals):
            if not 0 <= decimals <= 36:
                raise ValueError(f"pair {self.label}: decimals must be in [0, 36], got {decimals}")
        if not self.price > 0 or not self.base_liquidity > 0:
            raise ValueError(f"pair {self.label}: price and liquidity must be positive")
        if not 0 < self.fee_bps < 1000:
            raise ValueError(f"pair {self.label}: fee_bps must be in (0, 1000), got {self.fee_bps}")

    @property
    def label(self) -> str:
        return self.name or f"{self.base}-{self.quote}"

    def raw_amounts(self) -> tuple[int, int]:
        """(base, quote) amounts in the tokens' smallest units whose ratio is ``price``."""
        # Fractions of the decimal reprs keep 0.004 exactly 0.004, so rounding happens once.
        base = Fraction(repr(self.base_liquidity))
        base_raw = round(base * 10**self.base_decimals)
        quote_raw = round(base * Fraction(repr(self.price)) * 10**self.quote_decimals)
        if base_raw <= 0 or quote_raw <= 0:
            raise ValueError(f"pair {self.label}: liquidity rounds to zero in raw units")
        return base_raw, quote_raw


DEFAULT_DEMO_MARKET: tuple[PairSpec, ...] = (
    PairSpec("WBNB", "USDT", 18, 18, price=600.0, base_liquidity=1_000.0, fee_bps=25),
    PairSpec("CAKE", "WBNB", 18, 18, price=0.004, base_liquidity=1_000_000.0, fee_bps=25),
    PairSpec("BTCB", "USDT", 18, 18, price=90_000.0, base_liquidity=50.0, fee_bps=25),
    PairSpec("ETH", "USDC", 18, 6, price=3_000.0, base_liquidity=1_000.0, fee_bps=30),
)


@dataclass(frozen=True)
class DeployedToken:
    symbol: str
    address: ChecksumAddress
    decimals: int


@dataclass(frozen=True)
class DeployedPair:
    name: str
    address: ChecksumAddress
    token0: ChecksumAddress
    token1: ChecksumAddress
    symbol0: str
    symbol1: str
    decimals0: int
    decimals1: int
    fee_bps: int
    deploy_block: int
    base: str
    """Symbol of the spec's base token; the price is quoted as quote per base."""
    quote: str

    @property
    def base_is_token0(self) -> bool:
        return self.symbol0 == self.base


@dataclass(frozen=True)
class DeployedMarket:
    tokens: dict[str, DeployedToken]
    pairs: list[DeployedPair]
    router: ChecksumAddress
    deployer: ChecksumAddress
    start_block: int
    """First block holding a deployment transaction: indexers can start scanning here."""
    end_block: int
    """Block of the last liquidity transaction: the market is fully set up from here on."""

    def pair(self, name: str) -> DeployedPair:
        for pair in self.pairs:
            if pair.name == name:
                return pair
        raise KeyError(f"no pair named {name}; have {[p.name for p in self.pairs]}")

    def token(self, symbol: str) -> DeployedToken:
        return self.tokens[symbol]


@dataclass(frozen=True)
class Trader:
    index: int
    address: ChecksumAddress
    private_key: str


@cache
def artifact(name: str) -> Artifact:
    return load_artifact(name)


def web3_for(anvil: Anvil) -> Web3:
    return Web3(HTTPProvider(anvil.http_url, request_kwargs={"timeout": 30}))


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact(name).abi)


def wait_all(w3: Web3, tx_hashes: Iterable[HexBytes], what: str) -> list[TxReceipt]:
    """Waits for every receipt (they mine in any order) and insists all succeeded."""
    receipts = []
    for tx_hash in tx_hashes:
        receipt = w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=_RECEIPT_TIMEOUT_S, poll_latency=_RECEIPT_POLL_S
        )
        if receipt["status"] != 1:
            raise DeploymentError(f"{what}: transaction {tx_hash.to_0x_hex()} reverted")
        receipts.append(receipt)
    return receipts


def _deploy(w3: Web3, name: str, sender: ChecksumAddress, *args: Any) -> HexBytes:
    art = artifact(name)
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    tx_hash: HexBytes = factory.constructor(*args).transact({"from": sender})
    return tx_hash


def read_reserves(w3: Web3, pair_address: str) -> tuple[int, int]:
    r0, r1, _ = contract_at(w3, "PairV2", pair_address).functions.getReserves().call()
    return int(r0), int(r1)


def pair_price(w3: Web3, pair: DeployedPair) -> Fraction:
    """Mid price as quote per base in whole units, exactly as the reserves imply."""
    r0, r1 = read_reserves(w3, pair.address)
    if r0 == 0 or r1 == 0:
        raise ValueError(f"pair {pair.name} has no liquidity")
    human0 = Fraction(r0, 10**pair.decimals0)
    human1 = Fraction(r1, 10**pair.decimals1)
    return human1 / human0 if pair.base_is_token0 else human0 / human1


def _collect_tokens(spec: Sequence[PairSpec]) -> dict[str, int]:
    decimals: dict[str, int] = {}
    for pair in spec:
        for symbol, dec in ((pair.base, pair.base_decimals), (pair.quote, pair.quote_decimals)):
            if decimals.setdefault(symbol, dec) != dec:
                raise ValueError(f"token {symbol} has decimals {decimals[symbol]} and {dec}")
    return decimals


def deploy_market(anvil: Anvil, spec: Sequence[PairSpec] = DEFAULT_DEMO_MARKET) -> DeployedMarket:
    """Deploys tokens, pairs and the router from dev account 0 and seeds every pair.

    Transactions are sent in three dependent waves (each wave's receipts awaited together), so
    the deployment costs three block times, not one per transaction, under interval mining.
    """
    if not spec:
        raise ValueError("a market needs at least one pair")
    names = [p.label for p in spec]
    if len(set(names)) != len(names):
        raise ValueError(f"pair names must be unique: {names}")
    decimals = _collect_tokens(spec)
    w3 = web3_for(anvil)
    deployer = Web3.to_checksum_address(anvil.addresses[0])

    # Wave 1: contracts that depend on nothing.
    token_txs = {
        sym: _deploy(w3, "TestToken", deployer, sym, sym, d) for sym, d in decimals.items()
    }
    router_tx = _deploy(w3, "TrafficRouter", deployer)
    receipts = wait_all(w3, [*token_txs.values(), router_tx], "deploying tokens and router")
    by_hash = {bytes(r["transactionHash"]): r for r in receipts}
    tokens = {
        sym: DeployedToken(sym, _created(by_hash[bytes(tx)]), decimals[sym])
        for sym, tx in token_txs.items()
    }
    router = _created(by_hash[bytes(router_tx)])
    start_block = min(r["blockNumber"] for r in receipts)

    # Wave 2: pairs (need token addresses), plus funding the deployer and approving the router.
    sorted_tokens = {}
    pair_txs = []
    for pair in spec:
        a, b = tokens[pair.base], tokens[pair.quote]
        t0, t1 = (a, b) if int(a.address, 16) < int(b.address, 16) else (b, a)
        sorted_tokens[pair.label] = (t0, t1)
        pair_txs.append(_deploy(w3, "PairV2", deployer, t0.address, t1.address, pair.fee_bps))
    needed: dict[str, int] = dict.fromkeys(tokens, 0)
    for pair in spec:
        base_raw, quote_raw = pair.raw_amounts()
        needed[pair.base] += base_raw
        needed[pair.quote] += quote_raw
    setup_txs = []
    for sym, token in tokens.items():
        erc20 = contract_at(w3, "TestToken", token.address)
        setup_txs.append(erc20.functions.mint(deployer, needed[sym]).transact({"from": deployer}))
        setup_txs.append(erc20.functions.approve(router, MAX_UINT256).transact({"from": deployer}))
    pair_receipts = wait_all(w3, pair_txs, "deploying pairs")
    wait_all(w3, setup_txs, "funding the deployer")

    # Wave 3: seed each pair at the spec's price.
    deployed: list[DeployedPair] = []
    router_contract = contract_at(w3, "TrafficRouter", router)
    liquidity_txs = []
    for pair, receipt in zip(spec, pair_receipts, strict=True):
        t0, t1 = sorted_tokens[pair.label]
        base_raw, quote_raw = pair.raw_amounts()
        amount0, amount1 = (
            (base_raw, quote_raw) if t0.symbol == pair.base else (quote_raw, base_raw)
        )
        address = _created(receipt)
        liquidity_txs.append(
            router_contract.functions.addLiquidity(address, amount0, amount1, deployer).transact(
                {"from": deployer}
            )
        )
        deployed.append(
            DeployedPair(
                name=pair.label,
                address=address,
                token0=t0.address,
                token1=t1.address,
                symbol0=t0.symbol,
                symbol1=t1.symbol,
                decimals0=t0.decimals,
                decimals1=t1.decimals,
                fee_bps=pair.fee_bps,
                deploy_block=receipt["blockNumber"],
                base=pair.base,
                quote=pair.quote,
            )
        )
    liquidity_receipts = wait_all(w3, liquidity_txs, "adding liquidity")
    return DeployedMarket(
        tokens=tokens,
        pairs=deployed,
        router=router,
        deployer=deployer,
        start_block=start_block,
        end_block=max(r["blockNumber"] for r in liquidity_receipts),
    )


def _created(receipt: TxReceipt) -> ChecksumAddress:
    address = receipt.get("contractAddress")
    if address is None:
        raise DeploymentError(
            f"transaction {receipt['transactionHash'].to_0x_hex()} created nothing"
        )
    return Web3.to_checksum_address(address)


def prepare_traders(anvil: Anvil, market: DeployedMarket, accounts: Sequence[int]) -> list[Trader]:
    """Mints each trader plenty of every token and approves the router for all of it."""
    w3 = web3_for(anvil)
    dev = anvil.accounts
    for index in accounts:
        if not 0 <= index < len(dev):
            raise ValueError(f"anvil has {len(dev)} dev accounts, there is no account {index}")
    held: dict[str, int] = dict.fromkeys(market.tokens, 0)
    for pair in market.pairs:
        r0, r1 = read_reserves(w3, pair.address)
        held[pair.symbol0] += r0
        held[pair.symbol1] += r1

    traders = [
        Trader(i, Web3.to_checksum_address(dev[i].address), dev[i].private_key) for i in accounts
    ]
    txs = []
    for sym, token in market.tokens.items():
        erc20 = contract_at(w3, "TestToken", token.address)
        grant = max(held[sym], 10**token.decimals) * TRADER_FUNDING_MULTIPLE
        for trader in traders:
            # Minted by the deployer so each trader's own nonce only carries its approvals.
            txs.append(
                erc20.functions.mint(trader.address, grant).transact({"from": market.deployer})
            )
            txs.append(
                erc20.functions.approve(market.router, MAX_UINT256).transact(
                    {"from": trader.address}
                )
            )
    wait_all(w3, txs, "funding traders")
    return traders
