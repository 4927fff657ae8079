"""HTTP helpers every app's views use: who the client is behind our trusted proxies."""
import ipaddress
import logging
from functools import lru_cache

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
