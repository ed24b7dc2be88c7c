"""Documents for people: statements as PDF."""
