import contextlib
import io
import random
import struct

import pytest
from PIL import ExifTags, Image, ImageFile

from blog import image_processing
from blog.image_processing import ImageRejected, process_image
from tests import image_files
from tests.image_files import BLUE, COMMENT, FRAME_COLORS, RED

MAX_BYTES = 10 * 2**20


def process(data):
    return process_image(data, max_bytes=MAX_BYTES)


def reopen(rendition):
    image = Image.open(io.BytesIO(rendition.data))
    image.load()
    return image


def renditions(processed):
    return [processed.original, *processed.variants, processed.email]


def looks_like(pixel, color, tolerance=12):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=False))


def alpha_at(rendition, xy):
    return reopen(rendition).convert("RGBA").getpixel(xy)[3]


# What is accepted, decided by content.


@pytest.mark.parametrize(
    ("make", "file_format"),
    [
        (image_files.jpeg, "JPEG"),
        (image_files.png, "PNG"),
        (image_files.webp, "WEBP"),
        (image_files.still_gif, "GIF"),
    ],
)
def test_each_accepted_format_keeps_its_format_for_the_original(make, file_format):
    processed = process(make())
    assert processed.format == file_format
    assert processed.original.format == file_format
    assert reopen(processed.original).format == file_format
    assert (processed.width, processed.height) == (40, 20)


def test_jpeg_with_a_second_picture_mpo_is_handled_as_a_plain_jpeg():
    processed = process(image_files.mpo())
    assert processed.format == "JPEG"
    assert processed.animated is False
    original = reopen(processed.original)
    assert original.format == "JPEG"
    assert getattr(original, "n_frames", 1) == 1
    assert looks_like(original.getpixel((5, 5)), RED)


@pytest.mark.parametrize(
    "make",
    [
        image_files.script_renamed_jpg,
        image_files.html_page,
        image_files.svg_with_script,
        image_files.bmp,
    ],
)
def test_files_that_are_not_an_accepted_image_are_rejected_by_content(make):
    with pytest.raises(ImageRejected) as rejected:
        process(make())
    assert str(rejected.value) == (
        "This file is not an image the site accepts: upload a JPEG, PNG, WebP or GIF."
    )


def test_empty_file_is_rejected():
    with pytest.raises(ImageRejected, match="The file is empty."):
        process(b"")


@pytest.mark.parametrize("make", [image_files.truncated_jpeg, image_files.truncated_png])
def test_truncated_image_is_rejected_as_damaged(make):
    with pytest.raises(ImageRejected, match="damaged or incomplete"):
        process(make())


@pytest.mark.parametrize(
    "error", [OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError]
)
def test_anything_pillow_raises_while_decoding_becomes_image_rejected(monkeypatch, error):
    def failing_load(self):
        raise error("broken")

    monkeypatch.setattr(ImageFile.ImageFile, "load", failing_load)
    with pytest.raises(ImageRejected, match="damaged or incomplete"):
        process(image_files.jpeg())


@pytest.mark.parametrize(
    "make",
    [
        image_files.jpeg,
        image_files.cmyk_jpeg,
        image_files.png,
        image_files.png_16bit_gray,
        image_files.palette_png_with_transparency,
        image_files.webp,
        image_files.still_gif,
        image_files.animated_gif,
        image_files.animated_webp,
        image_files.animated_png,
    ],
)
def test_damaged_copies_of_images_are_accepted_or_rejected_never_crash(make):
    good = make()
    damage = random.Random(good)  # seeded by the file: the same copies every run
    for _ in range(60):
        data = bytearray(good)
        for _ in range(damage.randint(1, 6)):
            data[damage.randrange(len(data))] = damage.randrange(256)
        with contextlib.suppress(ImageRejected):
            process(bytes(data[: damage.choice([len(data), damage.randrange(len(data))])]))


def test_decompression_bomb_is_rejected_with_the_pixel_limit():
    with pytest.raises(ImageRejected) as rejected:
        process(image_files.bomb_png(20000, 20000))
    assert "at most 40 megapixels" in str(rejected.value)


def test_image_just_over_the_pixel_limit_is_rejected():
    # 42 million pixels: Pillow only warns below twice its limit.
    with pytest.raises(ImageRejected, match="at most 40 megapixels"):
        process(image_files.bomb_png(7000, 6000))


def test_bomb_is_rejected_before_decoding_without_pillows_own_limit(monkeypatch):
    # The bomb's pixel data is a few bytes: decoding it would fail as damaged instead.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ImageRejected, match="at most 40 megapixels"):
        process(image_files.bomb_png(20000, 20000))


def test_other_code_opening_a_bomb_with_pillow_is_refused_too():
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(image_files.bomb_png(20000, 20000)))


def test_image_too_long_on_one_side_for_webp_is_rejected():
    with pytest.raises(ImageRejected) as rejected:
        process(image_files.bomb_png(20000, 10))
    assert str(rejected.value) == (
        "The image is 20000 × 10 pixels: at most 16383 pixels on a side are accepted."
    )


def test_animation_with_too_many_pixels_in_all_is_rejected(monkeypatch):
    monkeypatch.setattr(image_processing, "MAX_ANIMATION_PIXELS", 3 * 40 * 30 - 1)
    with pytest.raises(ImageRejected, match="The animation is too large"):
        process(image_files.animated_gif(frames=3, width=40, height=30))


def test_file_over_max_bytes_is_rejected_saying_the_limit_in_mb():
    with pytest.raises(ImageRejected) as rejected:
        process_image(b"\xff" * (3 * 2**20), max_bytes=2 * 2**20)
    assert str(rejected.value) == "The file is 3 MB; images can be at most 2 MB."


def test_file_of_exactly_max_bytes_is_accepted():
    data = image_files.jpeg()
    assert process_image(data, max_bytes=len(data)).format == "JPEG"


def test_rejection_is_a_value_error():
    with pytest.raises(ValueError, match="not an image"):
        process(image_files.html_page())


# Orientation and metadata.


def test_exif_orientation_swaps_width_and_height():
    processed = process(image_files.jpeg(40, 20, exif_orientation=6))
    assert (processed.width, processed.height) == (20, 40)
    assert (processed.original.width, processed.original.height) == (20, 40)
    assert reopen(processed.original).size == (20, 40)
    assert [(v.width, v.height) for v in processed.variants] == [(20, 40)]


def test_exif_orientation_turns_the_pixels_upright():
    processed = process(image_files.red_left_blue_right_jpeg(exif_orientation=6))
    for rendition in renditions(processed):
        image = reopen(rendition).convert("RGB")
        assert looks_like(image.getpixel((10, 5)), RED), rendition
        assert looks_like(image.getpixel((10, 35)), BLUE), rendition


@pytest.mark.parametrize(
    "make",
    [
        lambda: image_files.jpeg(exif_orientation=6),
        lambda: image_files.jpeg(2000, 100),
        image_files.jpeg,
        image_files.mpo,
        image_files.png,
        image_files.webp,
        image_files.still_gif,
        image_files.animated_gif,
        image_files.animated_webp,
    ],
)
def test_no_output_carries_exif_gps_xmp_comments_or_icc_profile(make):
    for rendition in renditions(process(make())):
        image = reopen(rendition)
        assert "exif" not in image.info
        assert not image.getexif()
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"xmp", "XML:com.adobe.xmp", "comment", "Comment", "icc_profile"} & set(
            image.info
        )
        assert b"Phone Maker" not in rendition.data
        assert b"Ada Lovelace" not in rendition.data
        assert COMMENT not in rendition.data


def test_icc_profile_is_applied_to_the_pixels_then_dropped():
    # Under its profile the stored red shows as blue.
    processed = process(image_files.jpeg_with_icc_profile(color=RED))
    for rendition in renditions(processed):
        image = reopen(rendition)
        assert "icc_profile" not in image.info
        assert looks_like(image.getpixel((5, 5)), BLUE, tolerance=40), rendition


def test_broken_icc_profile_is_ignored():
    processed = process(image_files.jpeg_with_icc_profile(b"not a profile", color=RED))
    original = reopen(processed.original)
    assert "icc_profile" not in original.info
    assert looks_like(original.getpixel((5, 5)), RED)


def test_upright_jpeg_keeps_its_own_quality():
    upload = image_files.jpeg(quality=60)
    original = reopen(process(upload).original)
    assert original.quantization == Image.open(io.BytesIO(upload)).quantization


def test_turned_jpeg_is_saved_at_quality_85():
    reference = io.BytesIO()
    Image.new("RGB", (20, 40), RED).save(reference, "JPEG", quality=85)
    original = reopen(process(image_files.jpeg(quality=60, exif_orientation=6)).original)
    assert original.quantization == Image.open(reference).quantization


# Colors.


def test_cmyk_jpeg_comes_out_rgb_in_its_right_color():
    processed = process(image_files.cmyk_jpeg(cmyk=(0, 255, 255, 0)))
    for rendition in renditions(processed):
        image = reopen(rendition)
        assert image.mode == "RGB"
        assert looks_like(image.getpixel((5, 5)), (255, 0, 0)), rendition


def test_16_bit_gray_png_is_scaled_to_8_bits():
    processed = process(image_files.png_16bit_gray(value=32768))
    original = reopen(processed.original)
    assert original.mode == "L"
    assert original.getpixel((5, 5)) == 128
    variant = reopen(processed.variants[0]).convert("L")
    assert abs(variant.getpixel((5, 5)) - 128) <= 2


@pytest.mark.parametrize(
    "make",
    [image_files.rgba_png, image_files.la_png, image_files.palette_png_with_transparency],
)
def test_transparent_png_keeps_transparency_in_original_variants_and_email(make):
    processed = process(make())
    assert processed.has_transparency is True
    assert processed.email.format == "PNG"
    assert [v.format for v in processed.variants] == ["WEBP"]
    for rendition in renditions(processed):
        assert alpha_at(rendition, (5, 10)) == 255, rendition
        assert alpha_at(rendition, (35, 10)) == 0, rendition


def test_palette_png_original_stays_a_small_palette_png():
    original = reopen(process(image_files.palette_png_with_transparency()).original)
    assert original.mode == "P"


def test_png_whose_alpha_is_all_opaque_is_treated_as_opaque():
    processed = process(image_files.opaque_rgba_png())
    assert processed.has_transparency is False
    assert reopen(processed.original).mode == "RGB"


# Animations.


def test_animated_gif_keeps_every_frame_its_duration_and_loop():
    processed = process(image_files.animated_gif(frames=3))
    assert processed.animated is True
    original = reopen(processed.original)
    assert original.format == "GIF"
    assert original.n_frames == 3
    assert original.info["loop"] == 0
    for index in range(3):
        original.seek(index)
        assert original.info["duration"] == image_files.frame_durations(3)[index]
        assert original.convert("RGB").getpixel((5, 5)) == FRAME_COLORS[index]


def test_animated_gif_has_no_variants_and_its_email_copy_is_the_gif():
    processed = process(image_files.animated_gif())
    assert processed.variants == ()
    assert processed.email is processed.original
    assert processed.email.format == "GIF"


def test_transparent_animated_gif_keeps_transparency_in_every_frame():
    original = reopen(process(image_files.transparent_animated_gif(frames=3)).original)
    assert original.n_frames == 3
    for index in range(3):
        original.seek(index)
        frame = original.convert("RGBA")
        assert frame.getpixel((5, 5)) == (*FRAME_COLORS[index], 255)
        assert frame.getpixel((35, 5))[3] == 0


@pytest.mark.parametrize(
    ("make", "email_format"),
    [(image_files.animated_webp, "JPEG"), (image_files.animated_png, "PNG")],
)
def test_animated_webp_and_png_keep_their_frames_and_email_their_first(make, email_format):
    processed = process(make(frames=3))
    assert processed.animated is True
    assert processed.variants == ()
    original = reopen(processed.original)
    assert original.n_frames == 3
    original.seek(2)
    assert looks_like(original.convert("RGB").getpixel((5, 5)), FRAME_COLORS[2])
    assert processed.email.format == email_format
    email = reopen(processed.email)
    assert getattr(email, "n_frames", 1) == 1
    assert looks_like(email.convert("RGB").getpixel((5, 5)), FRAME_COLORS[0])


def test_still_gif_gets_webp_variants_and_a_png_email_copy():
    processed = process(image_files.still_gif())
    assert processed.animated is False
    assert processed.original.format == "GIF"
    assert [v.format for v in processed.variants] == ["WEBP"]
    assert processed.email.format == "PNG"
    assert looks_like(reopen(processed.email).getpixel((5, 5)), RED)


# Variants and the email copy.


@pytest.mark.parametrize(
    ("width", "variant_widths"),
    [
        (300, [300]),
        (480, [480]),
        (1200, [480, 960, 1200]),
        (1600, [480, 960, 1600]),
        (4000, [480, 960, 1600]),
    ],
)
def test_variants_are_the_smaller_widths_and_never_upscaled(width, variant_widths):
    processed = process(image_files.jpeg(width, 40))
    assert [v.width for v in processed.variants] == variant_widths
    assert [reopen(v).width for v in processed.variants] == variant_widths


def test_variants_are_webp():
    for variant in process(image_files.jpeg(1200, 40)).variants:
        assert (variant.format, variant.extension, variant.content_type) == (
            "WEBP",
            "webp",
            "image/webp",
        )
        assert reopen(variant).format == "WEBP"


def test_variant_heights_are_proportional_and_rounded():
    processed = process(image_files.jpeg(1000, 333))
    assert [(v.width, v.height) for v in processed.variants] == [
        (480, 160),
        (960, 320),
        (1000, 333),
    ]
    assert [reopen(v).size for v in processed.variants] == [(480, 160), (960, 320), (1000, 333)]


def test_wide_photo_gets_a_1200_pixel_jpeg_email_copy():
    processed = process(image_files.jpeg(2000, 1000))
    assert (processed.email.format, processed.email.width, processed.email.height) == (
        "JPEG",
        1200,
        600,
    )
    assert reopen(processed.email).size == (1200, 600)
    assert (processed.original.width, processed.original.height) == (2000, 1000)


def test_wide_transparent_png_gets_a_1200_pixel_png_email_copy():
    processed = process(image_files.rgba_png(2000, 100))
    assert (processed.email.format, processed.email.width) == ("PNG", 1200)
    assert alpha_at(processed.email, (1100, 50)) == 0


def test_jpeg_that_fits_is_its_own_email_copy():
    processed = process(image_files.jpeg(800, 400))
    assert processed.email is processed.original


def test_webp_gets_a_jpeg_email_copy_at_its_own_width():
    processed = process(image_files.webp(800, 400))
    assert (processed.email.format, processed.email.width) == ("JPEG", 800)


@pytest.mark.parametrize(
    ("file_format", "extension", "content_type"),
    [
        ("JPEG", "jpg", "image/jpeg"),
        ("PNG", "png", "image/png"),
        ("WEBP", "webp", "image/webp"),
        ("GIF", "gif", "image/gif"),
    ],
)
def test_rendition_names_its_extension_and_content_type(file_format, extension, content_type):
    rendition = image_processing.Rendition(1, 1, file_format, b"")
    assert (rendition.extension, rendition.content_type) == (extension, content_type)


@pytest.mark.parametrize(
    "make",
    [
        lambda: image_files.jpeg(1700, 900, exif_orientation=6),
        image_files.jpeg_with_icc_profile,
        image_files.png,
        image_files.palette_png_with_transparency,
        image_files.webp,
        image_files.animated_gif,
        image_files.animated_webp,
        image_files.animated_png,
    ],
)
def test_same_upload_gives_byte_identical_outputs(make):
    data = make()
    assert process(data) == process(data)


def test_uploads_in_these_tests_do_carry_the_metadata_the_outputs_drop():
    upload = Image.open(io.BytesIO(image_files.jpeg(exif_orientation=6)))
    assert upload.getexif()[ExifTags.Base.Orientation] == 6
    assert upload.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert {"xmp", "comment"} <= set(upload.info)
