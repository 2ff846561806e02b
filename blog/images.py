"""Adding images to the library and taking them out: the one way uploads become `blog.Image`s."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from blog import image_storage
from blog.image_processing import ImageRejected, process_image
from blog.models import Image, Post

__all__ = ["ImageRejected", "add_image", "delete_image", "rerender_posts_using"]


def max_upload_bytes():
    return settings.MAX_IMAGE_UPLOAD_MB * 1024 * 1024


def add_image(
    upload, *, user, alt_text="", decorative=False, caption="", credit="", key=None
) -> tuple[Image, bool]:
    """The library's image for this uploaded file, and whether it is new. The same file uploaded
    again is the image already there (its empty descriptions are filled from this upload).
    Raises ImageRejected, storing nothing, for anything but a sound JPEG, PNG, WebP or GIF.
    `key` keeps the name an image had on the site it was exported from."""
    limit = max_upload_bytes()
    if upload.size is not None and upload.size > limit:
        raise ImageRejected(_too_large_message(upload.size, limit))
    data = upload.read(limit + 1)
    key = key or image_storage.content_key(data)
    existing = Image.objects.filter(key=key).first()
    if existing is not None:
        return _describe(existing, alt_text, decorative, caption, credit), False
    processed = process_image(data, max_bytes=limit)
    files = image_storage.store_renditions(key, processed)
    image = Image(
        key=key,
        original_name=_file_name(upload),
        alt_text=alt_text.strip(),
        decorative=decorative,
        caption=caption.strip(),
        credit=credit.strip(),
        format=processed.format,
        width=processed.width,
        height=processed.height,
        file_size=len(processed.original.data),
        animated=processed.animated,
        variants=files["variants"],
        email_copy=files["email_copy"],
        uploaded_by=user,
    )
    image.file.name = files["file"]
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:  # the same file, uploaded at the same moment by someone else
        return Image.objects.get(key=key), False
    rerender_posts_using(image, key=key)
    return image, True


def delete_image(image):
    """Delete an image and its files; refused (ProtectedError) while any post shows it."""
    using = list(image.posts.order_by("title"))
    if using:
        titles = ", ".join(f"“{post.title}”" for post in using)
        raise ProtectedError(
            f"“{image}” is still shown in {titles}. Take it out of those posts first.",
            set(using),
        )
    names = image.stored_names()
    image.delete()
    transaction.on_commit(lambda: image_storage.delete_files(names))


def rerender_posts_using(image, *, key=None):
    """Render again the posts showing this image (its descriptions changed, or it has just been
    uploaded for a body that already named it), so their stored HTML shows it as it is now."""
    posts = Post.objects.filter(body__contains=key) if key else image.posts.all()
    for post in posts:
        post.render_again()


def _describe(image, alt_text, decorative, caption, credit):
    changes = {
        "alt_text": alt_text.strip() if not image.alt_text else None,
        "caption": caption.strip() if not image.caption else None,
        "credit": credit.strip() if not image.credit else None,
    }
    changed = [name for name, value in changes.items() if value]
    for name in changed:
        setattr(image, name, changes[name])
    if decorative and not image.decorative and not image.alt_text:
        image.decorative = True
        changed.append("decorative")
    if changed:
        image.save(update_fields=changed)
        rerender_posts_using(image)
    return image


def _file_name(upload):
    return (getattr(upload, "name", "") or "").rsplit("/", 1)[-1][:200]


def _too_large_message(size, limit):
    return (
        f"The file is {size / 1024 / 1024:.1f} MB; images can be at most "
        f"{limit // 1024 // 1024} MB."
    )
