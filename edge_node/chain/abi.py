"""Event signatures of the DEX pools we follow, and their topic0 hashes."""

from edge_node.chain.keccak import event_topic

V2_SWAP_SIGNATURE = "Swap(address,uint256,uint256,uint256,uint256,address)"
V2_SYNC_SIGNATURE = "Sync(uint112,uint112)"
V2_MINT_SIGNATURE = "Mint(address,uint256,uint256)"
V2_BURN_SIGNATURE = "Burn(address,uint256,uint256,address)"
# Uniswap V3 and PancakeSwap V3 differ: PancakeSwap appends the two protocol-fee amounts.
V3_SWAP_SIGNATURE = "Swap(address,address,int256,int256,uint160,uint128,int24)"
PANCAKE_V3_SWAP_SIGNATURE = (
    "Swap(address,address,int256,int256,uint160,uint128,int24,uint128,uint128)"
)

V2_SWAP = event_topic(V2_SWAP_SIGNATURE)
V2_SYNC = event_topic(V2_SYNC_SIGNATURE)
V2_MINT = event_topic(V2_MINT_SIGNATURE)
V2_BURN = event_topic(V2_BURN_SIGNATURE)
V3_SWAP = event_topic(V3_SWAP_SIGNATURE)
PANCAKE_V3_SWAP = event_topic(PANCAKE_V3_SWAP_SIGNATURE)

V2_TOPICS = (V2_SWAP, V2_SYNC, V2_MINT, V2_BURN)
V3_TOPICS = (V3_SWAP, PANCAKE_V3_SWAP)
# The topic0 filter for the logs subscription and eth_getLogs: every event we decode.
ALL_TOPICS = (*V2_TOPICS, *V3_TOPICS)
