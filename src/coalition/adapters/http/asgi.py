"""The ASGI entry point for uvicorn: settings come from the environment."""

from coalition.adapters.http.app import create_app

app = create_app()
