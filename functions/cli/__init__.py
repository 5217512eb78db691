"""``edge-ops``: the operator CLI running the functions' cores from a laptop or an edge host."""
