"""JSON-RPC over websockets and HTTP: transports, endpoint failover, backoff. Thin I/O shells."""
