"""Background work (issue 16): loops every server worker and `coalition worker` run (host.py)."""
