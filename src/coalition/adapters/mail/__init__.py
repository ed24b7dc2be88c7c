"""E-mail out through an SMTP server."""
