"""Passwords, hashed with Argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile).

A stored hash reads ``$argon2id$v=19$m=65536,t=3,p=4$…``: it names its own parameters, so a
later release that raises them re-hashes each password at its owner's next login
(:func:`needs_rehash`).
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("not anyone's password")


def verify_nobody(password: str) -> None:
    """Spend the time of a verification for a username that does not exist, so that the answer's
    delay does not tell which usernames do."""
    verify_password(_dummy_hash(), password)
