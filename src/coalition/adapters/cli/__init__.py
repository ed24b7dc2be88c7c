"""CLI adapter: the `coalition` command (Typer + Rich)."""
