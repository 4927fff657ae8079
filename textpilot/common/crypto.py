"""Secrets at rest (provider credentials, Shopify tokens): Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from TEXTPILOT_ENCRYPTION_KEY (a Fernet key) or, when unset, is derived from
the Django SECRET_KEY, so changing SECRET_KEY without setting TEXTPILOT_ENCRYPTION_KEY makes
stored secrets unreadable: set TEXTPILOT_ENCRYPTION_KEY in production."""
import base64
import hashlib
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(key_material: str) -> Fernet:
    explicit = os.environ.get("TEXTPILOT_ENCRYPTION_KEY")
    if explicit:
        return Fernet(explicit.encode())
    digest = hashlib.sha256(("textpilot-secrets:" + key_material).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(plaintext: str) -> str:
    if not plaintext:
        return ""
    return _fernet(settings.SECRET_KEY).encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(settings.SECRET_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("stored secret cannot be decrypted: was the encryption key changed?") from None
