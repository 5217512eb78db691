"""The health probe: the node, its RPC endpoints, its prices and its backups, seen from outside
the edge host every minute (``handler.probe``) or by a person (``edge-ops probe``)."""
