"""Responses compressed with brotli or gzip, whichever the client's Accept-Encoding prefers.

The page cache keeps compressed copies of the pages it stores and picks one with
`preferred_encoding()`; `CompressionMiddleware` compresses every other response the same way.
Not django-compression-middleware 0.5.0 (2023): it ignores q-values other than 0, so it sends br
to `gzip;q=1, br;q=0.5`, and a malformed one such as `gzip;q=x` or `gzip;q=1;a=b` raises a 500.
"""

import math
import re
from functools import lru_cache

import brotli
from django.conf import settings
from django.middleware.gzip import GZipMiddleware
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_sequence, compress_string

# Best first: a client that weighs both alike gets br.
ENCODINGS = ("br", "gzip")
# Text compresses; images, fonts in woff2 and archives already are.
COMPRESSIBLE_TYPE = re.compile(
    r"text/.+|application/(?:json|xml|javascript|[a-z0-9.+-]+\+(?:json|xml))|image/svg\+xml"
)
# As Django's GZipMiddleware: shorter bodies fit in a packet either way.
MIN_COMPRESSED_LENGTH = 200
# Per response, so fast rather than small, as CDNs choose.
BROTLI_QUALITY = 4
# Browsers send a few dozen bytes; anything far longer is not worth reading.
MAX_ACCEPT_ENCODING_LENGTH = 1000


def preferred_encoding(accept_encoding, encodings=ENCODINGS):
    """The one of `encodings` the client prefers (RFC 9110, 12.5.3), or None for identity.

    A coding's weight is its own q-value, else that of `*`, else none at all; `q=0` refuses it.
    Among equal weights the earlier of `encodings` wins, and any coding beats identity unless
    identity is given more weight. No header, or nothing acceptable: identity.
    """
    if len(accept_encoding) > MAX_ACCEPT_ENCODING_LENGTH:
        return None
    return _preferred_encoding(accept_encoding.lower(), tuple(encodings))


@lru_cache(maxsize=256)
def _preferred_encoding(accept_encoding, encodings):
    weights = {}
    for element in accept_encoding.split(","):
        coding, _, parameters = element.partition(";")
        coding = coding.strip()
        weight = _weight(parameters)
        if coding and weight is not None:
            weights.setdefault(coding, weight)
    wildcard = weights.get("*", 0.0)
    identity = weights.get("identity", wildcard)
    choices = [
        (weight, -rank, coding)
        for rank, coding in enumerate(encodings)
        if (weight := weights.get(coding, wildcard)) > 0
    ]
    if not choices:
        return None
    weight, _, coding = max(choices)
    return coding if weight >= identity else None


def _weight(parameters):
    """The q-value in `;q=0.5`, 1 when there is none, None when it is not a number in 0…1."""
    weight = 1.0
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip() == "q":
            try:
                weight = float(value.strip())
            except ValueError:
                return None
    return weight if math.isfinite(weight) and 0 <= weight <= 1 else None


def is_compressible(response):
    """Text, long enough to gain, and not encoded already."""
    content_type = response.get("Content-Type", "").partition(";")[0].strip().lower()
    return (
        COMPRESSIBLE_TYPE.fullmatch(content_type) is not None
        and not response.has_header("Content-Encoding")
        and (response.streaming or len(response.content) >= MIN_COMPRESSED_LENGTH)
    )


def may_hold_a_secret(request, response):
    """A page that sets a cookie (a CSRF token's, a session's), or is made for a session."""
    return bool(response.cookies) or settings.SESSION_COOKIE_NAME in request.COOKIES


def _brotli_sequence(chunks):
    compressor = brotli.Compressor(quality=BROTLI_QUALITY)
    for chunk in chunks:
        # Flushed per chunk, so a streamed page reaches the browser as it is made.
        data = compressor.process(chunk) + compressor.flush()
        if data:
            yield data
    yield compressor.finish()


class CompressionMiddleware:
    """Compress the responses the page cache did not make, as the client prefers.

    Above the page cache in MIDDLEWARE: pages it serves come with its own compressed copy (with a
    Content-Encoding, which this leaves alone) or plain to a client that accepts no encoding this
    offers, so nothing is compressed twice and the cache stores pages as their views made them.

    gzip hides a response's exact length behind a random pad, as Django's GZipMiddleware does
    against BREACH. Brotli has no field to pad, so a response that may hold a secret (one that
    sets a cookie, such as a page with a CSRF token, or one made for a session) is sent gzipped
    or plain, never as brotli.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # An async stream would need async compressors; under WSGI nothing makes one.
        if not is_compressible(response) or (response.streaming and response.is_async):
            return response
        patch_vary_headers(response, ["Accept-Encoding"])
        encodings = ("gzip",) if may_hold_a_secret(request, response) else ENCODINGS
        encoding = preferred_encoding(request.META.get("HTTP_ACCEPT_ENCODING", ""), encodings)
        if encoding is None:
            return response
        if response.streaming:
            if encoding == "gzip":
                response.streaming_content = compress_sequence(
                    response.streaming_content, max_random_bytes=GZipMiddleware.max_random_bytes
                )
            else:
                response.streaming_content = _brotli_sequence(response.streaming_content)
            # Unknown until the last chunk is compressed.
            del response["Content-Length"]
        else:
            if encoding == "gzip":
                compressed = compress_string(
                    response.content, max_random_bytes=GZipMiddleware.max_random_bytes
                )
            else:
                compressed = brotli.compress(response.content, quality=BROTLI_QUALITY)
            if len(compressed) >= len(response.content):
                return response
            response.content = compressed
            response["Content-Length"] = str(len(compressed))
        # The same page in another encoding: RFC 9110 8.8.1 asks for a weak validator, and
        # ConditionalGetMiddleware compares weakly, so a revalidation still gets its 304.
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response["ETag"] = f"W/{etag}"
        response["Content-Encoding"] = encoding
        return response
