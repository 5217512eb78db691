"""Database schema, engine creation and migrations shared by the edge node and the functions."""
