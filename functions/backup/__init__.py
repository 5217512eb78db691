"""Backups of the store with proven restores: backup, verify, restore, drill and retention.

The cores take their clients (an object store, database URLs) as arguments; the Lambda handlers
(``handler.py``) and the ``edge-ops`` commands are thin shells around them.
"""
