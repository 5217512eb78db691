"""The listening loop: connections to RPC endpoints, failover, and the follower."""
