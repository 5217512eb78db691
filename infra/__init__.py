"""The Pulumi program (``pulumi up`` from the repository root; Pulumi.yaml points here)."""
