"""The execution loop: signing, the transaction journal, broadcasting, tracking."""
