"""Local development chain: anvil process control, test contracts, a demo market and swap traffic.

Everything here is for tests and demos on a throwaway chain; none of it touches a real network.
"""
