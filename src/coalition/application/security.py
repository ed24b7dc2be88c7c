"""Secrets: random API keys (stored as SHA-256) and cashier passwords (stored as argon2id hashes)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 6


def new_api_key(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
