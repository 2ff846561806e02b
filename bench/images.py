import io
import statistics
import tempfile
import time

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from PIL import Image as PillowImage

from blog.image_processing import process_image
from blog.images import add_image, max_upload_bytes
from blog.models import Post


class Rollback(Exception):
    pass


def photo(width, height):
    """Noise over a gradient: as hard to compress as a camera's photo, unlike a flat colour."""
    noise = PillowImage.effect_noise((width, height), 40).convert("RGB")
    gradient = PillowImage.linear_gradient("L").resize((width, height)).convert("RGB")
    image = PillowImage.blend(noise, gradient, 0.5)
    output = io.BytesIO()
    image.save(output, "JPEG", quality=90)
    return output.getvalue()


def screenshot(width, height):
    image = PillowImage.new("RGB", (width, height), "#fcfcfa")
    for top in range(0, height, 24):
        image.paste((28, 30, 33), (40, top + 8, 40 + (top * 37) % (width - 80), top + 16))
    output = io.BytesIO()
    image.save(output, "PNG")
    return output.getvalue()


def animation(width, height, frames):
    images = [
        PillowImage.effect_noise((width, height), 20 + 4 * i).convert("P") for i in range(frames)
    ]
    output = io.BytesIO()
    images[0].save(output, "GIF", save_all=True, append_images=images[1:], duration=80, loop=0)
    return output.getvalue()


UPLOADS = [
    ("JPEG photo 1600x1200", lambda: photo(1600, 1200)),
    ("JPEG photo 4000x3000", lambda: photo(4000, 3000)),
    ("JPEG photo 6000x4000", lambda: photo(6000, 4000)),
    ("PNG screenshot 2560x1440", lambda: screenshot(2560, 1440)),
    ("GIF animation 480x270x20", lambda: animation(480, 270, 20)),
]
IMAGES_PER_POST = [0, 1, 10, 50]


class Command(BaseCommand):
    help = (
        "Measure image uploads (checking and making the variants: median ms, bytes in and out) "
        "and post pages showing 0 to 50 uploaded images (median ms and SQL queries, which must "
        "not grow with the images). Uses a temporary MEDIA_ROOT and a transaction it rolls back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=3)

    def handle(self, *args, repeat, **options):
        with (
            tempfile.TemporaryDirectory() as media_root,
            override_settings(
                MEDIA_ROOT=media_root, ALLOWED_HOSTS=["testserver"], PAGE_CACHE_SECONDS=0
            ),
        ):
            self._uploads(repeat)
            try:
                with transaction.atomic():
                    self._post_pages(repeat)
                    raise Rollback
            except Rollback:
                pass

    def _uploads(self, repeat):
        self.stdout.write(f"{'upload':<26} {'median ms':>10} {'in KB':>8} {'out KB':>8} files")
        for label, make in UPLOADS:
            data = make()
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                processed = process_image(data, max_bytes=max(max_upload_bytes(), len(data)))
                timings.append((time.perf_counter() - started) * 1000)
            outputs = {id(r): r for r in (processed.original, processed.email, *processed.variants)}
            out_bytes = sum(len(rendition.data) for rendition in outputs.values())
            widths = " ".join(
                f"{r.width}{r.extension}" for r in sorted(outputs.values(), key=lambda r: r.width)
            )
            self.stdout.write(
                f"{label:<26} {statistics.median(timings):>10.0f} {len(data) / 1024:>8.0f} "
                f"{out_bytes / 1024:>8.0f} {widths}"
            )

    def _post_pages(self, repeat):
        author = get_user_model().objects.create_user("bench-images-author")
        images = [
            add_image(
                ContentFile(photo(1200 + index, 800), name=f"bench-{index}.jpg"),
                user=author,
                alt_text=f"Figure {index}",
            )[0]
            for index in range(max(IMAGES_PER_POST))
        ]
        client = Client()
        self.stdout.write(f"{'post page with':<26} {'median ms':>10} {'queries':>8} {'save ms':>8}")
        for count in IMAGES_PER_POST:
            body = "\n\n".join(
                [
                    f"Paragraph {i} about queues.\n\n![]({image.url})"
                    for i, image in enumerate(images[:count])
                ]
                or ["A post with no images."]
            )
            started = time.perf_counter()
            post = Post.objects.create(
                title=f"Bench images {count}",
                slug=f"bench-images-{count}",
                summary="Images.",
                body=body,
                author=author,
                status=Post.Status.PUBLISHED,
            )
            save_ms = (time.perf_counter() - started) * 1000
            timings = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(post.get_absolute_url())
                    timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise CommandError(f"{post.get_absolute_url()} answered {response.status_code}")
            self.stdout.write(
                f"{f'{count} images':<26} {statistics.median(timings):>10.1f} "
                f"{len(queries):>8} {save_ms:>8.0f}"
            )
