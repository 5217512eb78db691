"""What every function and the ``edge-ops`` CLI share: settings, AWS clients, S3 locations,
secrets, the store, observability and the errors they raise. Imports ``shared/``, never
``edge_node/`` (a test walks the imports)."""
