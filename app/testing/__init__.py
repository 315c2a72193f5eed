"""Running whole deployments for tests: the `Cluster` harness and its pytest plugin."""
