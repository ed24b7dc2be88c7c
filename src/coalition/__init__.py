"""Coalition: a loyalty server for one shop or a coalition of independent businesses."""

__version__ = "0.1.0"
