"""Background work (issue 16): loops the server (or `coalition worker`) runs beside the HTTP API."""
