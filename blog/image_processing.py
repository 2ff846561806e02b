"""Uploaded images: checked by their content, then made into the files the site serves.

`process_image(data, max_bytes=...)` accepts only JPEG, PNG, WebP and GIF, decided by decoding
the bytes (a file's name and type say nothing), and raises `ImageRejected`, with a sentence for
the author, for anything else: other formats, damaged or cut-short files, decompression bombs,
files over the size limit. For an accepted image it returns:

- the original, in its own format, turned upright by its EXIF orientation, with every piece of
  metadata (EXIF, GPS, XMP, comments, ICC profile) removed;
- WebP variants for `srcset`, at each of `VARIANT_WIDTHS` smaller than the original plus the
  original's own width when that is at most the largest one, so never upscaled;
- a copy for email at most `EMAIL_WIDTH` wide: PNG when the image has transparency or the
  upload is a PNG or GIF (screenshots and drawings), else JPEG.

Colors are converted to sRGB with the embedded ICC profile, and the profile is dropped: every
browser and mail client assumes sRGB, so converted pixels look right without carrying a profile.
An animation (GIF, WebP or APNG) keeps all its frames, re-saved from Pillow's decoded frames with
their durations and loop count (which drops the metadata too); it gets no variants, and its email
copy is the animation itself for a GIF, or its first frame for the other two formats, which few
mail clients can play. The same bytes always give byte-identical outputs.
"""

import contextlib
import io
import math
import warnings
from dataclasses import dataclass

from PIL import (
    ExifTags,
    Image,
    ImageCms,
    ImageFile,
    ImageOps,
    ImageSequence,
    UnidentifiedImageError,
)

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
VARIANT_WIDTHS = (480, 960, 1600)
EMAIL_WIDTH = 1200  # email copies are at most this wide (shown at 600 CSS px)
MAX_PIXELS = 40_000_000  # one image or one frame
MAX_SIDE = 16383  # the most pixels a WebP, the variants' format, can have on a side
# All the frames of an animation together (e.g. 200 frames of 800 × 600): they are held in
# memory, 4 bytes a pixel, while it is re-saved.
MAX_ANIMATION_PIXELS = 100_000_000
JPEG_QUALITY = 85
WEBP_QUALITY = 80
WEBP_METHOD = 4  # libwebp's default speed/size trade-off

# Pillow refuses to open anything larger, for this module and any other code in the process.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
_SRGB = ImageCms.createProfile("sRGB")


class ImageRejected(ValueError):
    """The upload is not an image the site accepts; str(error) is a sentence for the author."""


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    format: str  # "JPEG" | "PNG" | "WEBP" | "GIF"
    data: bytes

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.format]

    @property
    def content_type(self) -> str:
        return f"image/{self.format.lower()}"


@dataclass(frozen=True)
class ProcessedImage:
    format: str  # the original's format
    width: int  # after EXIF orientation is applied
    height: int
    animated: bool
    original: Rendition
    variants: tuple[Rendition, ...]  # WebP, by ascending width; empty for an animation
    email: Rendition  # may be `original` itself
    has_transparency: bool  # some pixel is not fully opaque


def process_image(data: bytes, *, max_bytes: int) -> ProcessedImage:
    """Check `data` as an uploaded image and make its renditions, or raise ImageRejected."""
    if len(data) > max_bytes:
        raise ImageRejected(
            f"The file is {_megabytes(len(data), rounding=math.ceil)} MB; images can be at most "
            f"{_megabytes(max_bytes)} MB."
        )
    if not data:
        raise ImageRejected("The file is empty.")
    upload = _decode(data)
    if upload.frames:
        return _process_animation(upload)
    return _process_still(upload)


def _megabytes(size: int, rounding=math.floor) -> str:
    """The size in MB with one decimal at most, rounded the way that keeps a message true."""
    return f"{rounding(size / 2**20 * 10) / 10:g}"


# Decoding: everything Pillow does with the untrusted bytes happens here.


@dataclass
class _Upload:
    format: str  # JPEG for an MPO
    image: Image.Image  # upright, in sRGB, 8 bits (the first frame of an animation)
    pixels: Image.Image  # upright, as decoded: what a PNG or GIF original is saved from
    source: Image.Image  # the opened file, for saving a JPEG with its own quality
    keeps_jpeg_quality: bool  # a JPEG whose pixels are saved untouched (not turned or converted)
    frames: list[Image.Image] | None  # an animation's frames, like `image`
    durations: list[int] | None
    loop: int | None


def _decode(data: bytes) -> _Upload:
    """The upload fully decoded, or ImageRejected."""
    with warnings.catch_warnings():
        # Between MAX_PIXELS and twice that Pillow only warns: make it refuse those too. (The
        # warnings filter is process-wide, but _load's own check refuses them regardless.)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        # Pillow warns of damaged EXIF and the like, which is dropped anyway.
        warnings.simplefilter("ignore", UserWarning)
        try:
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as source:
                return _load(source)
        except ImageRejected:
            raise
        except UnidentifiedImageError as error:
            raise ImageRejected(
                "This file is not an image the site accepts: upload a JPEG, PNG, WebP or GIF."
            ) from error
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _too_many_pixels() from error
        except Exception as error:
            # Damaged files make Pillow raise OSError, SyntaxError, ValueError, EOFError and
            # more; every one of them means the same thing to the author.
            raise ImageRejected(
                "The image could not be read: the file is damaged or incomplete. "
                "Try saving or exporting it again."
            ) from error


def _too_many_pixels() -> ImageRejected:
    return ImageRejected(
        f"The image is too large: at most {MAX_PIXELS // 1_000_000} megapixels "
        "(for example 8000 × 5000) are accepted."
    )


def _load(source: ImageFile.ImageFile) -> _Upload:
    width, height = source.size
    if width * height > MAX_PIXELS:  # checked before decoding any pixel
        raise _too_many_pixels()
    if max(width, height) > MAX_SIDE:
        raise ImageRejected(
            f"The image is {width} × {height} pixels: at most {MAX_SIDE} pixels on a side "
            "are accepted."
        )
    icc_profile = source.info.get("icc_profile")
    # A JPEG with a second picture (MPO, from many cameras) opens as "MPO": its first picture
    # is the photo, and it is handled as the JPEG it is.
    file_format = "JPEG" if source.format == "MPO" else source.format
    if file_format != "JPEG" and getattr(source, "n_frames", 1) > 1:
        if source.n_frames * width * height > MAX_ANIMATION_PIXELS:
            raise ImageRejected(
                "The animation is too large: its frames together can have at most "
                f"{MAX_ANIMATION_PIXELS // 1_000_000} megapixels."
            )
        frames, durations = [], []
        for frame in ImageSequence.Iterator(source):
            frame.load()
            durations.append(frame.info.get("duration", 0))
            frames.append(_to_srgb(frame, icc_profile))
        return _Upload(
            file_format,
            frames[0],
            frames[0],
            source,
            keeps_jpeg_quality=False,
            frames=frames,
            durations=durations,
            loop=source.info.get("loop"),
        )
    source.load()  # decodes every pixel: a cut-short file fails here
    orientation = source.getexif().get(ExifTags.Base.Orientation, 1)
    upright = ImageOps.exif_transpose(source)
    return _Upload(
        file_format,
        _to_srgb(upright, icc_profile),
        upright,
        source,
        # Pillow keeps the quality of a JPEG only, not of an MPO's first picture.
        keeps_jpeg_quality=source.format == "JPEG"
        and orientation not in range(2, 9)
        and not _needs_conversion(source, icc_profile),
        frames=None,
        durations=None,
        loop=None,
    )


# Still images.


def _process_still(upload: _Upload) -> ProcessedImage:
    image, file_format = upload.image, upload.format
    has_transparency = image.mode == "RGBA"
    width, height = image.size

    if upload.keeps_jpeg_quality:
        # Untouched pixels: re-encode with the upload's own quantization tables and sampling,
        # which loses least. Saving the opened file is the only way Pillow allows that.
        upload.source.info = {}
        original = _rendition(upload.source, "JPEG", quality="keep", optimize=True)
    else:
        original = _encode(_original_pixels(upload.pixels, image, file_format), file_format)

    # Each smaller copy is resized from the smallest one made so far that is wide enough:
    # twice as fast as from the original each time, and it looks the same.
    scaled = [image]

    def scaled_to(target_width):
        target_width = min(target_width, width)
        source = min((s for s in scaled if s.width >= target_width), key=lambda s: s.width)
        scaled.append(_resized(source, target_width))
        return scaled[-1]

    widths = [w for w in VARIANT_WIDTHS if w < width]
    if width <= VARIANT_WIDTHS[-1]:
        widths.append(width)
    variants = tuple(
        reversed([_encode(scaled_to(w), "WEBP") for w in sorted(widths, reverse=True)])
    )

    if width <= EMAIL_WIDTH and file_format in ("JPEG", "PNG"):
        email = original
    else:
        email = _encode(scaled_to(EMAIL_WIDTH), _email_format(file_format, image))

    return ProcessedImage(
        format=file_format,
        width=width,
        height=height,
        animated=False,
        original=original,
        variants=variants,
        email=email,
        has_transparency=has_transparency,
    )


def _original_pixels(upright: Image.Image, image: Image.Image, file_format: str) -> Image.Image:
    """What the original is saved from: the upload's own palette or gray pixels where the format
    keeps them (smaller files, exact colors), else the sRGB image."""
    if (
        file_format in ("PNG", "GIF")
        and upright.mode in ("1", "L", "LA", "P")
        and "icc_profile" not in upright.info
    ):
        bare = upright.copy()
        bare.info = {k: v for k, v in upright.info.items() if k == "transparency"}
        return bare
    return image


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """The image as 8-bit L, RGB or RGBA in sRGB (RGBA only when some pixel is see-through),
    with an empty info, so no metadata can reach an output."""
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # 16-bit and deeper grays: scale to 8 bits (Pillow's own conversion clips at 255).
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "1":
        image = image.convert("L")
    elif image.has_transparency_data:
        image = image.convert("RGBA")
        if image.getchannel("A").getextrema()[0] == 255:
            image = image.convert("RGB")
    elif image.mode not in ("L", "RGB", "CMYK"):
        image = image.convert("RGB")

    # A broken profile, or one for other pixels, is ignored: the pixels are shown as they are.
    if icc_profile and _needs_conversion(image, icc_profile):
        with contextlib.suppress(OSError, ImageCms.PyCMSError):
            image = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
                _SRGB,
                outputMode="RGBA" if image.mode == "RGBA" else "RGB",
            )
    image = image.convert("RGB") if image.mode == "CMYK" else image.copy()
    image.info = {}
    return image


def _needs_conversion(image: Image.Image, icc_profile: bytes | None) -> bool:
    """Whether the pixels are in another color space than sRGB (and say which)."""
    if image.mode == "CMYK":
        return True
    if not icc_profile:
        return False
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return "sRGB" not in ImageCms.getProfileDescription(profile)
    except (OSError, ImageCms.PyCMSError):
        return False


def _email_format(file_format: str, image: Image.Image) -> str:
    """PNG for transparency, and for PNG and GIF uploads (screenshots and drawings, which JPEG
    blurs); JPEG for the rest, photos."""
    return "PNG" if image.mode == "RGBA" or file_format in ("PNG", "GIF") else "JPEG"


def _resized(image: Image.Image, width: int) -> Image.Image:
    if width >= image.width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _encode(image: Image.Image, file_format: str) -> Rendition:
    if file_format == "JPEG":
        return _rendition(image, "JPEG", quality=JPEG_QUALITY, optimize=True)
    if file_format == "WEBP":
        return _rendition(image, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return _rendition(image, file_format)


def _rendition(image: Image.Image, file_format: str, **options) -> Rendition:
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return Rendition(image.width, image.height, file_format, buffer.getvalue())


# Animations.


def _process_animation(upload: _Upload) -> ProcessedImage:
    file_format = upload.format
    has_transparency = any(frame.mode == "RGBA" for frame in upload.frames)
    mode = "RGBA" if has_transparency else "RGB"
    frames = [frame if frame.mode == mode else frame.convert(mode) for frame in upload.frames]
    options = {"save_all": True, "append_images": frames[1:], "duration": upload.durations}
    if upload.loop is not None:
        options["loop"] = upload.loop
    if file_format == "GIF" and has_transparency:
        # Frames are whole pictures: clear each before the next, or the previous one would
        # show through its transparent pixels.
        options["disposal"] = 2
    if file_format == "WEBP":
        options.update(quality=WEBP_QUALITY, method=WEBP_METHOD)
    original = _rendition(frames[0], file_format, **options)
    if file_format == "GIF":
        email = original
    else:
        email = _encode(_resized(frames[0], EMAIL_WIDTH), _email_format(file_format, frames[0]))
    width, height = frames[0].size
    return ProcessedImage(
        format=file_format,
        width=width,
        height=height,
        animated=True,
        original=original,
        variants=(),
        email=email,
        has_transparency=has_transparency,
    )
