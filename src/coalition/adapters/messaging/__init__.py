"""Message gateways (docs/messages.md): e-mail over SMTP, SMS over a generic HTTP gateway, SMS appended to a file."""
