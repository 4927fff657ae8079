"""HTTP helpers every app's views use: who the client is behind our trusted proxies, and the
address the world reaches this installation at."""
import ipaddress
import logging
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger("textpilot.http")


@lru_cache(maxsize=8)
def _trusted_networks(proxies: tuple[str, ...]) -> tuple:
    networks = []
    for proxy in proxies:
        try:
            networks.append(ipaddress.ip_network(proxy, strict=False))
        except ValueError:
            logger.warning("ignoring TEXTPILOT_TRUSTED_PROXIES entry that is not an IP or network: %r", proxy)
    return tuple(networks)


def _is_trusted(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _trusted_networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request) -> str:
    """REMOTE_ADDR, unless the peer is a trusted proxy: then the nearest X-Forwarded-For hop
    that is not itself a trusted proxy. Hops further left were written by the client and
    could be anything, so they are never believed over a hop a trusted proxy appended."""
    peer = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted(peer):
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        if not _is_trusted(hop):
            return hop
    return peer


def public_address(request, path: str) -> str:
    """Where others (a shop's webhooks, a storefront, a provider) reach `path` here:
    TEXTPILOT_PUBLIC_URL + path when it is set (behind a proxy or a tunnel; `serve` sets its
    own address), else the scheme and host this request came in on."""
    base = (getattr(settings, "TEXTPILOT_PUBLIC_URL", "") or "").strip().rstrip("/")
    return base + path if base else request.build_absolute_uri(path)


def is_public_https(url: str) -> bool:
    """An https:// address on a host the internet can reach: not localhost, not a bare name
    without a dot, not a loopback, private or link-local IP address."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if parts.scheme != "https" or not host or host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host and not host.endswith((".local", ".internal", ".lan", ".home.arpa"))
    return address.is_global
