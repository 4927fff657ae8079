"""Shopify webhook signatures: `X-Shopify-Hmac-SHA256` = base64(HMAC-SHA256(secret, raw body))."""
import base64
import hashlib
import hmac


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def is_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """True when `signature` is the body's HMAC under `secret` (constant-time compare)."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), signature.strip().encode())
