"""HTTP adapter: the FastAPI application, its routers and RFC 9457 problem responses."""
