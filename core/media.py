"""Uploaded files, served by the application from whichever storage holds them.

Only images, under names that change when their content does, so they may be cached for a year;
nothing else in the storage (imports waiting for their go-ahead) is ever served."""

import re

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

SERVED_NAME = re.compile(r"(?:images|cards)/[0-9a-f]{32}(?:-\d+w)?\.(?:jpg|png|webp|gif)")
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}


def media_url(name):
    """The URL pages link to for a stored file."""
    return f"{settings.MEDIA_URL}{name}"


@require_safe
def serve_media(request, name):
    if not SERVED_NAME.fullmatch(name):
        raise Http404("No such file.")
    if not default_storage.exists(name):
        raise Http404("No such file.")
    return stored_file_response(name)


def stored_file_response(name):
    """A stored image, for a year: its name changes whenever its content does."""
    content_type = CONTENT_TYPES[name.rsplit(".", 1)[1]]
    response = FileResponse(default_storage.open(name), content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, an image is a document: let it run nothing, whatever it holds.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
