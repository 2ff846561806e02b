"""Fixed-window limits per client, counted in the database.

A window starts at a multiple of its length since the epoch (a day's at midnight UTC), so retrying
after a refusal never moves it, and one upsert counts and reads in a single atomic statement.
"""

import ipaddress
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.models import RateLimitWindow


def client_ip(request):
    """REMOTE_ADDR, or behind a trusted proxy the address that proxy appended to the header."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_PROXY:
        forwarded = request.META.get(settings.CLIENT_IP_HEADER, "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            address = hops[-1]
    return address


def client_ip_address(request):
    """client_ip(), or None where that is not an IP address (PostgreSQL's inet takes no other)."""
    address = client_ip(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def ip_bucket(address):
    # One IPv6 user usually holds a whole /64, so that is what gets counted.
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def current_window(window_seconds, now=None):
    """(start, end) of the fixed window of `window_seconds` that holds `now`."""
    now = now or timezone.now()
    start = int(now.timestamp()) // window_seconds * window_seconds
    start_at = datetime.fromtimestamp(start, tz=UTC)
    return start_at, start_at + timedelta(seconds=window_seconds)


def _count_hit(bucket, window_start, expires_at):
    table = connection.ops.quote_name(RateLimitWindow._meta.db_table)
    # Raw SQL: the ORM's upsert (bulk_create with update_conflicts) can only overwrite a column,
    # not add one to it. PostgreSQL and SQLite (3.35+) both speak this dialect.
    statement = (
        f"INSERT INTO {table} (bucket, window_start, expires_at, hits) "  # noqa: S608
        "VALUES (%s, %s, %s, 1) "
        "ON CONFLICT (bucket, window_start) "
        f"DO UPDATE SET hits = {table}.hits + 1 "
        "RETURNING hits"
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(statement, [bucket, adapt(window_start), adapt(expires_at)])
        (hits,) = cursor.fetchone()
    return hits


def allow_request(bucket, limit, window_seconds):
    """Count one use of `bucket`; False once its current window already holds `limit` uses."""
    now = timezone.now()
    window_start, expires_at = current_window(window_seconds, now)
    hits = _count_hit(bucket[:200], window_start, expires_at)
    if hits == 1:
        # A new window began for this client: a good moment to forget windows that have ended.
        RateLimitWindow.objects.filter(expires_at__lte=now).delete()
    return hits <= limit
