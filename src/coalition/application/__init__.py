"""The application layer: commands and queries, each in one unit of work, over ports the adapters implement."""
