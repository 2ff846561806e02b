"""The files behind images, in the default storage (local disk or S3), named by content.

An upload's files are named from the hash of the bytes uploaded, so the same upload always has
the same names and a name never changes meaning: pages may cache them for a year."""

import hashlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from blog import social_cards
from blog.image_processing import ProcessedImage, Rendition

IMAGE_FOLDER = "images"
CARD_FOLDER = "cards"
# Part of each card's name: change it when the card's look changes, and cards are made anew.
CARD_DESIGN = "1"


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def store_renditions(key: str, processed: ProcessedImage) -> dict:
    """Save every file made from an upload; the fields of `blog.Image` that name them."""
    original = _save(f"{IMAGE_FOLDER}/{key}.{processed.original.extension}", processed.original)
    variants = [
        {
            "name": _save(f"{IMAGE_FOLDER}/{key}-{variant.width}w.webp", variant),
            "width": variant.width,
            "height": variant.height,
        }
        for variant in processed.variants
    ]
    email = processed.email
    if email is processed.original:
        email_name = original
    else:
        email_name = _save(f"{IMAGE_FOLDER}/{key}-{email.width}w.{email.extension}", email)
    return {
        "file": original,
        "variants": variants,
        "email_copy": {"name": email_name, "width": email.width, "height": email.height},
    }


def delete_files(names):
    for name in names:
        default_storage.delete(name)


def _save(name: str, rendition: Rendition) -> str:
    # Same name, same bytes: a file already there is this one, from an earlier upload.
    if not default_storage.exists(name):
        _save_once(name, rendition.data)
    return name


def _save_once(name, data):
    saved = default_storage.save(name, ContentFile(data))
    if saved != name:  # another process saved the same file between exists() and save()
        default_storage.delete(saved)


def social_image(images) -> dict:
    """What link previews of a post show when it has images: its first image's email copy."""
    for image in images:
        copy = image.email_copy
        return {
            "name": copy["name"],
            "width": copy["width"],
            "height": copy["height"],
            "alt": image.alt_text,
        }
    return {}


def card_key(title: str) -> str:
    return content_key("\n".join([CARD_DESIGN, settings.SITE_NAME, title]).encode())


def title_card(title: str) -> str:
    """The stored name of the card showing this title, made when there is none yet."""
    name = f"{CARD_FOLDER}/{card_key(title)}.png"
    if not default_storage.exists(name):
        _save_once(name, social_cards.title_card_png(title, settings.SITE_NAME))
    return name
