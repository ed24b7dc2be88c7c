"""In-memory fakes of the ports the application layer owns, for tests that need no database."""
