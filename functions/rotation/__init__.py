"""Secret rotation: the four steps Secrets Manager drives (createSecret, setSecret, testSecret,
finishSecret) for the node's API token and its database password, and the secret-age check
that warns when a secret (an RPC provider key, which no machine can rotate) is overdue."""
