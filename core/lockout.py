"""The page django-axes answers with when it refuses an admin login (AXES_LOCKOUT_CALLABLE)."""

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers


def login_locked_out(request, original_response, credentials):
    """A 429 in the admin's layout, for a (user name, address) pair axes has locked out."""
    # Every refused attempt restarts the lockout, so right now it is always the full length.
    context = {
        **admin.site.each_context(request),
        "title": "Too many login attempts",
        "minutes": settings.LOGIN_LOCKOUT_MINUTES,
    }
    response = render(request, "core/login_locked_out.html", context, status=429)
    add_never_cache_headers(response)
    return response
