"""An admin write's stored answer sealed so that the database alone cannot read it (docs/api.md "Conventions").

An answer the admin API replays for an `Idempotency-Key` may hold a secret shown once (a new terminal key, admin
key, device key, webhook secret, a cashier's password or PIN...). The record keeps it 24 hours, so it is sealed
under a key the database never holds: HKDF-SHA256 of the raw Idempotency-Key (the record keeps only its SHA-256),
salted with the record's scope (the SHA-256 of the admin key that sent it), then AES-256-GCM with a random 96-bit
nonce and the request's hash as associated data (a sealed answer moved to another record does not open). Stored as
`v1:` + base64(nonce ‖ ciphertext ‖ tag). Only a retry that sends the same Idempotency-Key can open it.

The protection is as strong as the Idempotency-Key is unguessable: a random UUID (122 bits) is out of reach of a
search; a short counter is not. docs/api.md asks clients for random keys.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1:"
INFO = b"coalition admin replay v1"
NONCE_BYTES = 12  # 96 bits, AES-GCM's own size


class UnreadableAnswer(Exception):
    """A stored answer that does not open with this key, scope and request (tampered, or not sealed by us)."""


def idempotency_key_digest(idempotency_key: str) -> str:
    """What the record keeps of the Idempotency-Key: its SHA-256, hexadecimal (the raw key seals the answer)."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


def _key(idempotency_key: str, scope: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=scope.encode(), info=INFO).derive(idempotency_key.encode())


def seal(answer: str, *, idempotency_key: str, scope: str, request_hash: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_key(idempotency_key, scope)).encrypt(nonce, answer.encode(), request_hash.encode())
    return VERSION + base64.b64encode(nonce + sealed).decode("ascii")


def open_sealed(stored: str, *, idempotency_key: str, scope: str, request_hash: str) -> str:
    """The answer `seal` sealed; UnreadableAnswer when it does not open."""
    if not stored.startswith(VERSION):
        raise UnreadableAnswer("not a sealed answer")
    try:
        raw = base64.b64decode(stored[len(VERSION) :], validate=True)
        if len(raw) <= NONCE_BYTES:
            raise UnreadableAnswer("too short")
        opened = AESGCM(_key(idempotency_key, scope)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], request_hash.encode()
        )
        return opened.decode("utf-8")
    except (ValueError, InvalidTag) as error:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise UnreadableAnswer(str(error) or type(error).__name__) from error
