"""Adapters around the application layer: storage, HTTP, CLI."""
