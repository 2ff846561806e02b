"""Uploaded images in sanitized post HTML become responsive `<img>`s, in a `<figure>` when they
stand alone. Runs after the sanitizer: every attribute written here comes from the stored image
and the author's own alt and title text, escaped again, so authors still cannot set any."""

import html
import re
from urllib.parse import urlsplit

# The key in an uploaded image's URL, whatever the host or prefix (local /media/, a CDN, an
# exported relative path): .../images/<key>.png or a variant, .../images/<key>-960w.webp.
IMAGE_KEY = re.compile(r"(?:^|/)images/([0-9a-f]{32})(?:-\d+w)?\.(?:jpg|png|webp|gif)$")
# Whole start tags as the sanitizer writes them: every value quoted with ".
IMG_TAG = re.compile(r'<img\s(?:[^>"]|"[^"]*")*>')
ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')
# An image alone in its paragraph, which becomes a figure, or any other image.
IMAGE_IN_TEXT = re.compile(
    rf"<p>\s*(?P<alone>{IMG_TAG.pattern})\s*</p>|(?P<inline>{IMG_TAG.pattern})"
)

# The post column is at most about 42rem wide; below that, the screen less its margins.
SIZES = "(min-width: 46rem) 42rem, calc(100vw - 2rem)"
# Said in an editor's inserted Markdown until the author describes the image.
ALT_PLACEHOLDER = "Describe this image"


def image_keys(body_html):
    """The keys of the uploaded images the HTML shows, in order, each once."""
    keys = []
    for tag in IMG_TAG.finditer(body_html):
        key = _key(_attributes(tag.group()))
        if key and key not in keys:
            keys.append(key)
    return keys


def missing_alt_text(body_html, images_by_key):
    """The uploaded images with neither alt text nor a "decorative" mark: a post showing one
    is not ready to publish."""
    missing = []
    for tag in IMG_TAG.finditer(body_html):
        attributes = _attributes(tag.group())
        image = images_by_key.get(_key(attributes))
        needs_alt = image is not None and not (_alt(attributes, image) or image.decorative)
        if needs_alt and image not in missing:
            missing.append(image)
    return missing


def with_figures(body_html, images_by_key, media_url):
    """The HTML with each uploaded image written from its stored data; others stay as they are.
    `media_url(name)` turns a stored file name into the URL to link."""
    if not images_by_key:
        return body_html
    seen = []

    def replace(match):
        tag = match.group("alone") or match.group("inline")
        attributes = _attributes(tag)
        image = images_by_key.get(_key(attributes))
        if image is None:
            return match.group()
        img = responsive_img(image, attributes, media_url, lazy=bool(seen))
        seen.append(image)
        if match.group("inline"):
            return img
        caption = _caption(attributes, image)
        if caption:
            img += f"<figcaption>{caption}</figcaption>"
        return f'<figure class="post-image">{img}</figure>'

    return IMAGE_IN_TEXT.sub(replace, body_html)


def responsive_img(image, attributes, media_url, *, lazy):
    parts = [f'src="{_escape(media_url(image.email_copy["name"]))}"']
    if image.variants and not image.animated:
        srcset = ", ".join(
            f"{media_url(variant['name'])} {variant['width']}w" for variant in image.variants
        )
        parts += [f'srcset="{_escape(srcset)}"', f'sizes="{SIZES}"']
    parts += [
        f'width="{image.width}"',
        f'height="{image.height}"',
        f'alt="{_escape(_alt(attributes, image))}"',
    ]
    if lazy:
        parts.append('loading="lazy"')
    parts.append('decoding="async"')
    return f"<img {' '.join(parts)}>"


def _attributes(tag):
    return {name: html.unescape(value) for name, value in ATTRIBUTE.findall(tag)}


def _key(attributes):
    match = IMAGE_KEY.search(urlsplit(attributes.get("src", "")).path)
    return match and match.group(1)


def _alt(attributes, image):
    alt = attributes.get("alt", "").strip()
    if alt == ALT_PLACEHOLDER:
        alt = ""
    return alt or image.alt_text.strip()


def _caption(attributes, image):
    caption = _escape(attributes.get("title", "").strip() or image.caption)
    if image.credit:
        credit = f'<span class="post-image__credit">{_escape(image.credit)}</span>'
        caption = f"{caption} — {credit}" if caption else credit
    return caption


def _escape(text):
    return html.escape(text, quote=True)


EMAIL_WIDTH = 600  # the width emails lay posts out at
# Only images written here end so: the sanitizer lets authors write no decoding attribute.
WRITTEN_IMG = re.compile(r'<img\s[^>]*\bdecoding="async">')
EMAIL_FIGURE_STYLE = "margin: 24px 0; text-align: center"
EMAIL_CAPTION_STYLE = "margin: 8px 0 0; color: #57606a; font-size: 14px"
RESPONSIVE_ATTRIBUTES = re.compile(r' (?:srcset|sizes|loading|decoding)="[^"]*"')
IMG_SIZE = re.compile(r'width="(\d+)" height="(\d+)"')


def for_email(body_html):
    """The figures written here, as mail clients show them: one JPEG, PNG or GIF (Outlook shows
    no WebP, Gmail no srcset) at most EMAIL_WIDTH wide, and no <figure>, which some drop."""

    def email_img(match):
        tag = RESPONSIVE_ATTRIBUTES.sub("", match.group())
        size = IMG_SIZE.search(tag)
        if size is None:
            return tag
        width, height = int(size.group(1)), int(size.group(2))
        if width > EMAIL_WIDTH:
            width, height = EMAIL_WIDTH, max(1, round(height * EMAIL_WIDTH / width))
        return IMG_SIZE.sub(f'width="{width}" height="{height}"', tag, count=1)

    html = WRITTEN_IMG.sub(email_img, body_html)
    html = html.replace('<figure class="post-image">', f'<div style="{EMAIL_FIGURE_STYLE}">')
    html = html.replace("</figure>", "</div>")
    html = html.replace("<figcaption>", f'<p style="{EMAIL_CAPTION_STYLE}">')
    return html.replace("</figcaption>", "</p>")
