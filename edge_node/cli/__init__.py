"""The ``edge-node`` command line, one module per command group.

Exit codes: 0 success; 1 the node or a check failed (the message says why); 2 the command line
or the configuration is wrong (each bad field named).

- ``app``: the top-level group, exit codes, config loading;
- ``node_api``: the HTTP client of the running node's own API;
- ``running``: ``run`` and ``demo``;
- ``observe``: ``status``, ``health``, ``trades``;
- ``trading_control``: ``emergency-stop``, ``pause``, ``resume``, ``reload``;
- ``maintenance``: ``config validate``, ``db migrate``, ``db downgrade``.
"""

from __future__ import annotations

# Importing the command modules registers their commands on ``main``.
from edge_node.cli import maintenance, observe, running, trading_control  # noqa: F401
from edge_node.cli.app import EXIT_FAILED, EXIT_USAGE, main

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "main"]
