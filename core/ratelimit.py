"""Fixed-window limits per client, counted in Django's cache."""

import ipaddress

from django.conf import settings
from django.core.cache import cache


def client_ip(request):
    """REMOTE_ADDR, or behind a trusted proxy the address that proxy appended to the header."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_PROXY:
        forwarded = request.META.get(settings.CLIENT_IP_HEADER, "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            address = hops[-1]
    return address


def ip_bucket(address):
    # One IPv6 user usually holds a whole /64, so that is what gets counted.
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def take(key, limit, window_seconds):
    """Count one use of `key` in a fixed window; False once the window already holds `limit`."""
    cache.add(key, 0, window_seconds)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, window_seconds)
        used = 1
    return used <= limit
