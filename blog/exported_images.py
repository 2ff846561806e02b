"""The uploaded images exported posts show, beside their Markdown files.

An export holds each image once, as `images/<key>.<ext>` (the original's bytes as stored), and
one `images.json` describing them by key:

```
{
  "3f2a…": {
    "file": "images/3f2a….png",
    "alt_text": "Queue depth over a day",
    "decorative": false,
    "caption": "",
    "credit": "",
    "original_name": "queue-depth.png"
  }
}
```

The bodies stay as they are: their URLs end in images/<key>.<ext>, which the renderer finds
wherever the image is served from. `entries()` reads a manifest back as image entries for
`blog.portability.import_entries()`, which adds them, keeping their keys, before the posts.
"""

import json
import re
from functools import partial
from operator import attrgetter
from pathlib import PurePosixPath

from blog import figures, portability
from blog.models import Image
from blog.portability import ImageData, ImageEntry, ImportProblem

MANIFEST = "images.json"
FOLDER = "images"
TEXT_FIELDS = ("alt_text", "caption", "credit", "original_name")
FIELDS = ("file", "alt_text", "decorative", "caption", "credit", "original_name")
KEY = re.compile(r"[0-9a-f]{32}")


# Export


def shown_in(posts):
    """The library's images the posts' bodies show, each once, by key: one query, none when
    no post shows an image."""
    keys = {key for post in posts for key in figures.image_keys(post.body_html)}
    return sorted(Image.objects.by_key(keys).values(), key=attrgetter("key"))


def export_name(image):
    return f"{FOLDER}/{PurePosixPath(image.file.name).name}"


def files(images):
    """(name in the export, bytes) of each image's original, then of the manifest; nothing
    for no images."""
    for image in images:
        with image.file.open("rb") as file:
            yield export_name(image), file.read()
    if images:
        yield MANIFEST, manifest(images).encode()


def manifest(images):
    described = {
        image.key: {
            "file": export_name(image),
            "alt_text": image.alt_text,
            "decorative": image.decorative,
            "caption": image.caption,
            "credit": image.credit,
            "original_name": image.original_name,
        }
        for image in images
    }
    return json.dumps(described, indent=2, ensure_ascii=False) + "\n"


# Import


def entries_in_folder(folder):
    """The image entries of the folder's images.json (none without one)."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return []

    def read_file(name):
        file = folder / name
        if not file.is_file():
            raise ImportProblem("is not in the folder")
        return portability.read_file(file)

    return entries(MANIFEST, partial(portability.read_file, manifest), read_file)


def entries_in_zip(archive, files):
    """The image entries of every images.json among `files` (a zip's members by name), at the
    zip's top or in a folder of it."""

    def read_file(name):
        if name not in files:
            raise ImportProblem("is not in the zip")
        return portability.unpacked(archive, files[name])

    manifests = sorted(name for name in files if PurePosixPath(name).name == MANIFEST)
    return [
        entry
        for name in manifests
        for entry in entries(name, partial(portability.unpacked, archive, files[name]), read_file)
    ]


def entries(manifest_name, read_manifest, read_file):
    """An entry for each image the manifest describes. Its files are named relative to the
    manifest's folder; `read_manifest()` answers the manifest's bytes and `read_file(name)` those
    of the export's file `name` (the manifest's folder included), or they raise ImportProblem."""
    try:
        described = json.loads(portability.decoded(read_manifest()))
    except ImportProblem as problem:
        return [failed(manifest_name, str(problem))]
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        return [failed(manifest_name, f"is not valid JSON: {error.msg} ({where})")]
    if not isinstance(described, dict):
        return [failed(manifest_name, "is not a mapping of image keys to their descriptions")]
    folder = PurePosixPath(manifest_name).parent
    return [
        _entry(manifest_name, folder, key, fields, read_file)
        for key, fields in sorted(described.items())
    ]


def failed(name, message):
    """An image entry that can only report its problem (an unreadable manifest)."""

    def read():
        raise ImportProblem(message)

    return ImageEntry(name, "", read)


def _entry(manifest_name, folder, key, fields, read_file):
    file = fields.get("file") if isinstance(fields, dict) else None
    # Reported by its file when it names one, else by its place in the manifest.
    name = str(folder / file) if isinstance(file, str) and file else f"{manifest_name}: {key}"

    def read():
        description = _description(key, fields)
        content = read_file(name)
        original_name = description.pop("original_name") or PurePosixPath(name).name
        return ImageData(content=content, name=original_name, **description)

    return ImageEntry(name, key, read)


def _description(key, fields):
    if not KEY.fullmatch(key):
        raise ImportProblem(f"“{key}” in {MANIFEST} is not an image key (32 hexadecimal digits)")
    if not isinstance(fields, dict):
        raise ImportProblem(f"its description in {MANIFEST} is not a mapping")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ImportProblem(
            f"unknown field “{unknown[0]}” in {MANIFEST}; the known ones are {', '.join(FIELDS)}"
        )
    file = fields.get("file")
    if not isinstance(file, str) or not file:
        raise ImportProblem(f"its description in {MANIFEST} names no file")
    if portability.escapes_folder(file):
        raise ImportProblem(f"refused: its file “{file}” is outside the export")
    description = {name: _text(fields, name) for name in TEXT_FIELDS}
    decorative = fields.get("decorative", False)
    if not isinstance(decorative, bool):
        raise ImportProblem("decorative must be true or false")
    return {**description, "decorative": decorative}


def _text(fields, name):
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ImportProblem(f"{name} must be text")
    limit = Image._meta.get_field(name).max_length
    if len(value) > limit:
        raise ImportProblem(f"{name} has {len(value)} characters; at most {limit} are accepted")
    return value.strip()
