"""The HTTP API: one router module per API family, all over the same catalog."""
