import math

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from simple_history.models import HistoricalRecords

from blog import image_storage, search, social_cards
from blog.rendering import MarkdownTooDeep, render_post
from core import page_cache
from core.media import media_url
from core.site import absolute_url

WORDS_PER_MINUTE = 230
# About 40,000 words: far beyond a long post, small enough to render in a moment.
BODY_MAX_LENGTH = 250_000


def reading_minutes(body):
    return max(1, math.ceil(len(body.split()) / WORDS_PER_MINUTE))


def unused_slug(model, text, *, fallback):
    """slugify(text), with "-2", "-3", … added until no row of `model` has it."""
    max_length = model._meta.get_field("slug").max_length - 6
    base = slugify(text)[:max_length].strip("-") or fallback
    slug, number = base, 2
    while model._default_manager.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


class PostGroupQuerySet(models.QuerySet):
    """Tags and series: the groups readers browse posts by."""

    def with_public_posts(self):
        """The groups with at least one public post, one row per such post (so `Count("posts")`
        counts public posts; add `distinct()` for one row per group)."""
        return self.filter(posts__in=Post.objects.published())


class TagQuerySet(PostGroupQuerySet):
    def find_or_create(self, name, slug=None):
        """The tag with this slug (when given) or name; made, and validated, when there is none
        (ValidationError when the name or slug will not do)."""
        tag = (slug and self.filter(slug=slug).first()) or self.filter(name=name).first()
        if tag is None:
            tag = Tag(name=name, slug=slug or unused_slug(Tag, name, fallback="tag"))
            tag.full_clean()
            tag.save()
        return tag


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)
    slug = models.SlugField(max_length=50, unique=True)

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("blog:tag_detail", kwargs={"slug": self.slug})


class Series(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True, help_text="Shown on the series page.")

    objects = PostGroupQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "series"

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("blog:series_detail", kwargs={"slug": self.slug})


class ImageQuerySet(models.QuerySet):
    def by_key(self, keys):
        """{key: image} for the images with these keys, in one query (none for no keys)."""
        keys = set(keys)
        return {image.key: image for image in self.filter(key__in=keys)} if keys else {}


class Image(models.Model):
    """An uploaded image and the files made from it (`blog.images` makes and deletes them).

    Posts refer to it in Markdown by its URL (`![alt](/media/images/<key>.png)`); the renderer
    finds the key in the URL and writes the `<img>` from this row."""

    key = models.CharField(max_length=32, unique=True, editable=False)
    file = models.FileField(max_length=200, editable=False)
    original_name = models.CharField(max_length=200, blank=True, editable=False)
    alt_text = models.CharField(
        max_length=300,
        blank=True,
        help_text="What the image shows, for readers who cannot see it. Used wherever a post "
        "gives the image no alt text of its own.",
    )
    decorative = models.BooleanField(
        default=False,
        help_text="Adds nothing a reader needs: screen readers skip it, and it needs no alt text.",
    )
    caption = models.CharField(max_length=300, blank=True, help_text="Shown under the image.")
    credit = models.CharField(
        max_length=200, blank=True, help_text="Who made it; shown after the caption."
    )
    format = models.CharField(max_length=4, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    file_size = models.PositiveIntegerField(editable=False)
    animated = models.BooleanField(default=False, editable=False)
    # [{"name", "width", "height"}], WebP, narrowest first; and the JPEG, PNG or GIF copy that
    # emails, feeds and social cards use.
    variants = models.JSONField(default=list, editable=False)
    email_copy = models.JSONField(default=dict, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="images",
        editable=False,
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self):
        return self.original_name or self.file.name

    def get_absolute_url(self):
        return self.url

    @property
    def url(self):
        return media_url(self.file.name)

    @property
    def email_url(self):
        return media_url(self.email_copy["name"])

    def markdown(self, alt_text=None):
        """What an author pastes into a post to show this image."""
        alt = self.alt_text if alt_text is None else alt_text
        return f"![{markdown_escape(alt)}]({self.url})"

    def stored_names(self):
        names = {self.file.name, self.email_copy.get("name")}
        names.update(variant["name"] for variant in self.variants)
        return sorted(name for name in names if name)


def markdown_escape(text):
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


class PostQuerySet(models.QuerySet):
    def published(self):
        """The one rule for what the public may see: published, and its time has come."""
        return self.filter(status=Post.Status.PUBLISHED, published_at__lte=timezone.now())

    def scheduled(self):
        """Published with a time still to come: they go public with no save to announce it."""
        return self.filter(status=Post.Status.PUBLISHED, published_at__gt=timezone.now())

    def for_cards(self):
        """What a post card shows (not the bodies or search data): one query plus one for tags."""
        return self.defer(
            "body", "body_html", "body_text", "toc_html", "search_vector"
        ).prefetch_related(Prefetch("tags", queryset=Tag.objects.only("name", "slug")))

    def visible_to(self, user):
        """Staff preview drafts and scheduled posts; everyone else sees `published()`."""
        if user.is_active and user.is_staff:
            return self.all()
        return self.published()

    # Bulk writes send no signals; these make the cached pages follow them too.
    def update(self, **kwargs):
        count = super().update(**kwargs)
        page_cache.invalidate_on_commit(self.db)
        return count

    def bulk_create(self, *args, **kwargs):
        posts = super().bulk_create(*args, **kwargs)
        page_cache.invalidate_on_commit(self.db)
        return posts

    def bulk_update(self, *args, **kwargs):
        count = super().bulk_update(*args, **kwargs)
        page_cache.invalidate_on_commit(self.db)
        return count


class PostRevisionFields(models.Model):
    """What a revision keeps besides the post's own columns: its tags, as they were."""

    tag_names = models.JSONField(default=list)

    class Meta:
        abstract = True


# Every save of a post keeps a revision (`blog.revisions`). Kept in a name of its own, so code
# that saves the tags after the post can record the revision once they are saved.
post_history = HistoricalRecords(
    excluded_fields=[
        "body_html", "toc_html", "body_text", "search_vector", "reading_time",
        "created_at", "updated_at", "social_image",
    ],
    bases=[PostRevisionFields],
    history_change_reason_field=models.CharField(max_length=100, blank=True, null=True),
)  # fmt: skip


class Post(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=200, unique=True, help_text="The post's address: /posts/&lt;slug&gt;/."
    )
    summary = models.TextField(
        max_length=500, help_text="One or two sentences, shown on the listing and in previews."
    )
    body = models.TextField(
        max_length=BODY_MAX_LENGTH, help_text="Markdown. Fenced code blocks are highlighted."
    )
    body_html = models.TextField(editable=False, default="")
    toc_html = models.TextField(editable=False, default="")
    body_text = models.TextField(editable=False, default="")
    # Filled on PostgreSQL only, by `save()` and `rebuild_search`; SQLite searches the text.
    search_vector = SearchVectorField(null=True, editable=False)
    reading_time = models.PositiveSmallIntegerField(editable=False, default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Readers see the post from this time on. Leave empty to use the moment "
        "it is published; a future time schedules it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="posts"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="posts")
    series = models.ForeignKey(
        Series, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    series_part = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="This post's part number within its series."
    )
    # The uploaded images the body shows (kept by save()): an image in use is not deleted.
    images = models.ManyToManyField(Image, blank=True, related_name="posts", editable=False)
    # What link previews show: {"name", "width", "height", "alt"} of the first image's email
    # copy; empty when there is none, and a card with the title stands in (`share_image`).
    social_image = models.JSONField(default=dict, editable=False)

    objects = PostQuerySet.as_manager()
    history = post_history

    # Everything `render()` derives from the body.
    RENDERED_FIELDS = ("body_html", "toc_html", "body_text", "reading_time")
    _rendered_body = None  # the body those fields were last rendered from in this instance
    _rendering = None  # that rendering (`blog.rendering.RenderedPost`)
    _saved_rendering = None  # the rendering whose images save() last stored

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-published_at", "-id"], name="post_listing_idx"),
            GinIndex(fields=["search_vector"], name="post_search_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "series_part"],
                name="unique_part_within_series",
                violation_error_message="This series already has a part with this number.",
            ),
            models.CheckConstraint(
                condition=Q(series__isnull=True) | Q(series_part__isnull=False),
                name="series_post_has_part_number",
                violation_error_message="A post in a series needs its part number.",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self._rendered_body != self.body:
            self.render()
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        # A rendering not yet saved (made here, or by clean() before) also decides which
        # images the post shows.
        new_rendering = self._rendering is not self._saved_rendering
        if new_rendering:
            self.social_image = image_storage.social_image(self._rendering.images)
        super().save(*args, **kwargs)
        if new_rendering:
            self.images.set(self._rendering.images)
            self._saved_rendering = self._rendering
        if search.uses_full_text_search(connections[self._state.db]):
            Post.objects.using(self._state.db).filter(pk=self.pk).update(
                search_vector=search.document_vector()
            )

    def get_absolute_url(self):
        return reverse("blog:post_detail", kwargs={"slug": self.slug})

    def clean(self):
        super().clean()
        # Rendered here so that a body that cannot be rendered is a form error, not a failed
        # save; save() then uses this rendering instead of making it again.
        try:
            self.render()
        except MarkdownTooDeep as error:
            raise ValidationError({"body": str(error)}) from None

    def render(self):
        """Derive the stored fields from the Markdown body: its sanitized HTML, its table of
        contents, its plain text for search, and its reading time."""
        rendered = render_post(self.body, find_images=Image.objects.by_key)
        self._rendered_body = self.body
        self._rendering = rendered
        self.body_html, self.toc_html, self.body_text = (
            rendered.html,
            rendered.toc_html,
            rendered.text,
        )
        self.reading_time = reading_minutes(self.body)

    def render_again(self):
        """Render the body again and store what changed, with no new revision or publishing
        change: for when what it shows changed elsewhere (the renderer, an image's
        descriptions). Whether anything changed."""
        stored = {name: getattr(self, name) for name in (*self.RENDERED_FIELDS, "social_image")}
        self.render()
        self.social_image = image_storage.social_image(self._rendering.images)
        rendered = {name: getattr(self, name) for name in stored}
        self.images.set(self._rendering.images)
        if rendered == stored:
            return False
        Post.objects.filter(pk=self.pk).update(**rendered)
        return True

    def undescribed_images_message(self):
        """Why the post, as last rendered, may not go public yet ("" when it may): readers who
        cannot see an image need its alt text, unless it is marked decorative."""
        missing = self._rendering.images_missing_alt if self._rendering else []
        if not missing:
            return ""
        names = ", ".join(str(image) for image in missing)
        return (
            "Describe every image before publishing, for readers who cannot see it: give it "
            "alt text in the Markdown, ![like this](…), or in the image library, or mark it "
            f"decorative there. No description yet: {names}."
        )

    @property
    def share_image(self):
        """The image link previews show: {"url" (absolute), "width", "height", "alt"}."""
        if self.social_image:
            image = self.social_image
            return {
                **image,
                "url": absolute_url(media_url(image["name"])),
                "alt": image["alt"] or self.title,
            }
        card_url = reverse(
            "blog:post_card",
            kwargs={"slug": self.slug, "key": image_storage.card_key(self.title)},
        )
        return {
            "url": absolute_url(card_url),
            "width": social_cards.CARD_WIDTH,
            "height": social_cards.CARD_HEIGHT,
            "alt": self.title,
        }

    @property
    def author_name(self):
        return self.author.get_full_name() or self.author.get_username()

    @property
    def is_public(self):
        """`published()` for one post already loaded; the two must agree (tests check)."""
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    @property
    def is_scheduled(self):
        return self.status == self.Status.PUBLISHED and not self.is_public

    @property
    def was_updated(self):
        """Edited on a later day than it went out: worth telling the reader."""
        return self.is_public and self.updated_at.date() > self.published_at.date()

    def _neighbour(self, *, older):
        if self.published_at is None:
            return None
        if older:
            condition = Q(published_at__lt=self.published_at) | Q(
                published_at=self.published_at, pk__lt=self.pk
            )
            order = ["-published_at", "-pk"]
        else:
            condition = Q(published_at__gt=self.published_at) | Q(
                published_at=self.published_at, pk__gt=self.pk
            )
            order = ["published_at", "pk"]
        return (
            Post.objects.published()
            .filter(condition)
            .order_by(*order)
            .only("title", "slug")
            .first()
        )

    def related_posts(self, limit=3):
        """Public posts sharing a tag with this one, newest first."""
        tag_ids = [tag.pk for tag in self.tags.all()]
        if not tag_ids:
            return []
        sharing_a_tag = Post.tags.through.objects.filter(tag_id__in=tag_ids).values("post_id")
        return list(
            Post.objects.published()
            .filter(pk__in=sharing_a_tag)
            .exclude(pk=self.pk)
            .only("title", "slug", "published_at")[:limit]
        )

    def previous_post(self):
        return self._neighbour(older=True)

    def next_post(self):
        return self._neighbour(older=False)
