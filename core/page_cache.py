"""Whole pages for anonymous readers, kept in Django's cache and shared by every worker.

Pages are stored under the current *generation*. Every committed save or delete of a model that
an app names with `invalidate_when_saved()` (blog: posts, tags, series, authors), and every change
it names with `invalidate_when_related()`, starts a new generation, so no worker can serve a page
from before the change. The generation also ends at the time `expire_generation_at()` names (blog:
the next scheduled post, which no save announces), and at every `migrate`.
"""

import gzip
import hashlib
import logging
import re
import secrets
import time
from functools import wraps

import brotli
from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache, caches
from django.core.exceptions import DisallowedHost
from django.db import DEFAULT_DB_ALIAS, Error, transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.http import Http404, HttpResponse
from django.middleware.http import ConditionalGetMiddleware
from django.utils.cache import (
    add_never_cache_headers,
    cc_delim_re,
    patch_cache_control,
    patch_vary_headers,
    set_response_etag,
)
from django.utils.http import http_date
from django.views.defaults import page_not_found

from core.compression import ENCODINGS, is_compressible, preferred_encoding

logger = logging.getLogger(__name__)

GENERATION_KEY = "page-cache:generation"
# Names the shape of `page_entry()`; a new shape needs a new prefix, or a deploy would read the
# entries the previous version left in a shared cache.
PAGE_KEY_PREFIX = "page:2"
# The only query parameters cached pages read; any others (utm_source…) share the same page.
PAGE_PARAMETERS = ("page", "p")
PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,6}|last")
# Each copy is compressed once and served many times, so smaller is worth slower here.
CACHED_BROTLI_QUALITY = 10


def is_anonymous(request):
    """No session and no pending message: the request sees what every reader sees."""
    return (
        settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
    )


def public_page(view, query_parameters=()):
    """Let anonymous readers' 200s be kept: by this cache and, briefly, by a CDN.

    `query_parameters` names those of PAGE_PARAMETERS the view reads; a request carrying any
    other one is answered but not kept, so `?page=N` can't fill the cache with copies of a page
    that has no pages. Every other answer (staff previews, 404s) is marked never to be stored.
    """

    @wraps(view)
    def public_page_view(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404 as not_found:
            # Answered here rather than by the handler, so it gets the never-cache headers.
            response = page_not_found(request, not_found)
        patch_vary_headers(response, ["Cookie"])
        if response.status_code == 200 and is_anonymous(request):
            patch_cache_control(
                response, public=True, max_age=0, s_maxage=settings.CDN_CACHE_SECONDS
            )
            # When this copy was made. A feed's own date is its newest post's, which goes back
            # when that post is unpublished, and readers revalidating by date would keep it.
            response["Last-Modified"] = http_date()
        else:
            add_never_cache_headers(response)
        return response

    public_page_view.cached_query_parameters = frozenset(query_parameters)
    return public_page_view


# Callables that return when pages will change with no save to announce it (or None).
_expiry_sources = []


def expire_generation_at(when):
    """Register `when()`: the time, or None, at which every cached page goes stale by itself."""
    _expiry_sources.append(when)


def _next_generation():
    """A new generation: (its name, the POSIX time its pages go stale by themselves or None)."""
    times = [at for at in (when() for when in _expiry_sources) if at is not None]
    return secrets.token_hex(8), min(times).timestamp() if times else None


def _stored_generation():
    generation = cache.get(GENERATION_KEY)
    # Anything else was left by an older release, in a shared cache: start a new generation.
    return generation if isinstance(generation, tuple) and len(generation) == 2 else None


def current_generation():
    generation = _stored_generation()
    if generation is not None and (generation[1] is None or generation[1] > time.time()):
        return generation[0]
    try:
        fresh = _next_generation()
    except Error:
        if generation is None:
            raise
        # The database is unreachable. Its pages' time had come (a scheduled post is due), but
        # the pages from before it are better than the outage page.
        return generation[0]
    if generation is None:
        # add(), not set(): an author's invalidate() that got in first must win.
        if not cache.add(GENERATION_KEY, fresh, None):
            return (_stored_generation() or fresh)[0]
    else:
        cache.set(GENERATION_KEY, fresh, None)
    return fresh[0]


def invalidate():
    """Retire every cached page, for every worker and machine sharing the cache."""
    cache.set(GENERATION_KEY, _next_generation(), None)


def invalidate_on_commit(using=DEFAULT_DB_ALIAS):
    """Invalidate once the change is committed, never before.

    Before the commit, another worker could still read the old rows and cache them under the new
    generation. A transaction that saves many rows invalidates once per row, right after it
    commits: cheap (a query and a cache write each), and it needs no peeking at Django's
    private list of commit hooks.
    """
    transaction.on_commit(invalidate, using=using, robust=True)


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # Cached pages skip the middleware below, this one included, so hits ask it directly.
        self.conditional_get = ConditionalGetMiddleware(get_response)

    def __call__(self, request):
        try:
            key = self.cache_key(request)
            entry = None if key is None else self.lookup(key)
        except Exception:
            logger.exception("Page cache unavailable; serving without it")
            key = entry = None
        if entry is not None:
            response = page_response(entry, request)
            if "HTTP_IF_NONE_MATCH" in request.META or "HTTP_IF_MODIFIED_SINCE" in request.META:
                response = self.conditional_get.process_response(request, response)
            return response
        response = self.get_response(request)
        if key is not None and request.method == "GET" and self.can_store(request, response):
            entry = page_entry(response)
            self.store(key, entry)
            return page_response(entry, request)
        if not response.has_header("Cache-Control"):
            # Not everyone's page (search results, the newsletter's pages, 404s), and its view
            # said nothing: only this visitor's browser may keep it, and must ask again first.
            patch_cache_control(response, private=True, no_cache=True)
        return response

    def cache_key(self, request):
        """The key of this request's page, or None when it must not come from the cache."""
        if (
            settings.PAGE_CACHE_SECONDS <= 0
            or request.method not in ("GET", "HEAD")
            or not is_anonymous(request)
        ):
            return None
        parameters = []
        for name in PAGE_PARAMETERS if request.META.get("QUERY_STRING") else ():
            value = request.GET.get(name)
            if value is not None:
                if not PAGE_NUMBER.fullmatch(value):
                    return None
                parameters.append(f"{name}={value}")
        try:
            host = request.get_host()
        except DisallowedHost:
            return None
        address = f"{request.scheme}://{host}{request.path}?{'&'.join(parameters)}"
        digest = hashlib.sha256(address.encode()).hexdigest()
        return f"{PAGE_KEY_PREFIX}:{current_generation()}:{digest}"

    def lookup(self, key):
        # The key names the current generation, so this worker's copy is as fresh as the shared
        # one, and skips reading (and for files, decompressing) it again.
        entry = caches["local"].get(key)
        if entry is None:
            entry = cache.get(key)
            if entry is not None:
                caches["local"].set(key, entry, settings.PAGE_CACHE_SECONDS)
        return entry

    def can_store(self, request, response):
        view = request.resolver_match.func if request.resolver_match else None
        accepted = getattr(view, "cached_query_parameters", frozenset())
        if any(name in request.GET and name not in accepted for name in PAGE_PARAMETERS):
            return False
        cache_control = {
            directive.split("=")[0].strip().lower()
            for directive in cc_delim_re.split(response.get("Cache-Control", ""))
        }
        varies = {
            header.strip().lower()
            for header in cc_delim_re.split(response.get("Vary", ""))
            if header.strip()
        }
        return (
            response.status_code == 200
            and not response.streaming
            # page_entry() compresses; a view's own encoding would be compressed twice.
            and not response.has_header("Content-Encoding")
            # A cookie belongs to one visitor; a page that sets one is not everyone's page.
            and not response.cookies
            and "public" in cache_control
            and not cache_control & {"private", "no-store", "no-cache"}
            and varies <= {"cookie"}
        )

    def store(self, key, entry):
        caches["local"].set(key, entry, settings.PAGE_CACHE_SECONDS)
        try:
            cache.set(key, entry, settings.PAGE_CACHE_SECONDS)
        except Exception:
            logger.exception("Could not store a page in the cache")


def page_entry(response):
    """What the cache keeps of a page: {encoding: (headers, body)}, plain ("identity") and, for
    text long enough to gain, brotli and gzip.

    Plain dicts and tuples, so entries survive deploys. Compressed once here, not per request,
    and with no random padding: a public page holds no secret (no CSRF token, no session data)
    for BREACH-style attacks to find.
    """
    patch_vary_headers(response, ["Accept-Encoding"])
    if not response.has_header("ETag"):
        set_response_etag(response)
    headers = {name: value for name, value in response.items() if name != "Content-Length"}
    content = response.content
    entry = {"identity": ({**headers, "Content-Length": str(len(content))}, content)}
    if is_compressible(response):
        # Weak, as CompressionMiddleware and Django's GZipMiddleware make it: the same page in
        # another encoding.
        etag = headers["ETag"] if headers["ETag"].startswith("W/") else f"W/{headers['ETag']}"
        for encoding, encoded in [
            ("br", brotli.compress(content, quality=CACHED_BROTLI_QUALITY)),
            ("gzip", gzip.compress(content, mtime=0)),
        ]:
            encoded_headers = {"Content-Length": str(len(encoded)), "Content-Encoding": encoding}
            entry[encoding] = ({**headers, **encoded_headers, "ETag": etag}, encoded)
    return entry


def page_response(entry, request):
    """The copy in `entry` the request's Accept-Encoding prefers."""
    encoding = preferred_encoding(
        request.META.get("HTTP_ACCEPT_ENCODING", ""),
        [encoding for encoding in ENCODINGS if encoding in entry],
    )
    headers, content = entry[encoding or "identity"]
    return HttpResponse(content, headers=headers)


def _invalidate_after_change(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    invalidate_on_commit(using)


def _invalidate_after_related_change(sender, action, using=DEFAULT_DB_ALIAS, **kwargs):
    if action.startswith("post_"):
        invalidate_on_commit(using)


def _invalidate_after_migrate(sender, **kwargs):
    # Deploys migrate: pages from the previous release (its templates, its static file names)
    # must not outlive it. No query here; the tables may be half-way through migrating.
    cache.delete(GENERATION_KEY)


def invalidate_when_saved(model, *, unless_only=frozenset()):
    """Every committed save or delete of `model` retires the cached pages; a save that names
    only fields in `unless_only` (a login's `last_login`) does not.

    Receivers rather than calls in views: a page goes stale whatever saved the row (the admin, a
    command, the shell). Bulk writes send no signals; a queryset calls `invalidate_on_commit()`.
    """

    def receiver(sender, using=DEFAULT_DB_ALIAS, update_fields=None, **kwargs):
        if update_fields is not None and unless_only and set(update_fields) <= unless_only:
            return
        invalidate_on_commit(using)

    uid = f"page-cache:{model._meta.label}"
    # weak=False: the receiver is a closure nothing else holds.
    post_save.connect(receiver, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(_invalidate_after_change, sender=model, dispatch_uid=uid)


def invalidate_when_related(through):
    """Adding or removing links in a many-to-many table (`Post.tags.through`) retires pages."""
    m2m_changed.connect(_invalidate_after_related_change, sender=through, dispatch_uid="page-cache")


def connect_migrate_signal():
    post_migrate.connect(_invalidate_after_migrate, dispatch_uid="page-cache")
