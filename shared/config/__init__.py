"""The node's typed configuration, shared with the functions that read it: the public config API.

``load_config`` / ``parse_config`` validate a whole file (``node``); the sections live by
responsibility in ``chain``, ``services`` and ``trading``, on the building blocks in ``fields``.
"""

from shared.config.chain import ChainConfig, EndpointConfig, PoolConfig
from shared.config.fields import (
    CANDLE_INTERVALS,
    ETHEREUM_CHAIN_IDS,
    MIN_API_TOKEN_LENGTH,
    PUBLIC_CHAIN_IDS,
    Amount,
    ConfigError,
)
from shared.config.node import NodeConfig, load_config, parse_config
from shared.config.services import (
    AlertsConfig,
    ApiConfig,
    CandleConfig,
    ControlConfig,
    HealthConfig,
    SecretsConfig,
    StoreConfig,
)
from shared.config.trading import (
    ArbitragePairConfig,
    ExecutionConfig,
    KeyConfig,
    RiskConfig,
    StrategyConfig,
)

__all__ = [
    "CANDLE_INTERVALS",
    "ETHEREUM_CHAIN_IDS",
    "MIN_API_TOKEN_LENGTH",
    "PUBLIC_CHAIN_IDS",
    "AlertsConfig",
    "Amount",
    "ApiConfig",
    "ArbitragePairConfig",
    "CandleConfig",
    "ChainConfig",
    "ConfigError",
    "ControlConfig",
    "EndpointConfig",
    "ExecutionConfig",
    "HealthConfig",
    "KeyConfig",
    "NodeConfig",
    "PoolConfig",
    "RiskConfig",
    "SecretsConfig",
    "StoreConfig",
    "StrategyConfig",
    "load_config",
    "parse_config",
]
