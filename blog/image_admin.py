"""The image library in the admin: upload, describe, find, copy the Markdown, delete if unused."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from blog import editing, images
from blog.images import ImageRejected, add_image
from blog.models import Image
from core.media import media_url

ACCEPTED_TYPES = "image/jpeg,image/png,image/webp,image/gif"
THUMBNAIL_SIZE = 80  # px: the library's thumbnails fit a square this big


class ImageUploadForm(forms.ModelForm):
    upload = forms.FileField(
        label="Image",
        help_text="A JPEG, PNG, WebP or GIF. Uploading a file the library already has adds "
        "nothing: you get the image already there.",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_TYPES}),
    )

    class Meta:
        model = Image
        fields = ["upload", "alt_text", "decorative", "caption", "credit"]
        help_texts = {
            "alt_text": "What the image shows, for readers who cannot see it: needed before a "
            "post showing it is published, unless the image is decorative.",
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.created = False

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload is None or self.errors:
            return cleaned
        try:
            image, self.created = add_image(
                upload,
                user=self.user,
                alt_text=cleaned.get("alt_text", ""),
                decorative=cleaned.get("decorative", False),
                caption=cleaned.get("caption", ""),
                credit=cleaned.get("credit", ""),
            )
        except ImageRejected as error:
            raise forms.ValidationError({"upload": str(error)}) from None
        # What the library already held wins: an upload again never blanks a description.
        self.instance = image
        for name in ("alt_text", "decorative", "caption", "credit"):
            cleaned[name] = getattr(image, name)
        return cleaned


class ImageAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail", "__str__", "description", "dimensions", "size", "post_count",
        "uploaded_at",
    ]  # fmt: skip
    list_display_links = ["__str__"]
    search_fields = ["original_name", "alt_text", "caption", "credit"]
    list_filter = ["decorative", "format"]
    fields = ["alt_text", "decorative", "caption", "credit"]
    readonly_fields = [
        "thumbnail", "markdown", "dimensions", "size", "format", "files", "uploaded_by",
        "uploaded_at", "used_in",
    ]  # fmt: skip

    def get_urls(self):
        return [
            # Not admin_view(): a script gets a 403 in JSON, not the login page (editing.py).
            path("upload/", editing.upload_image, name="blog_image_upload"),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(post_count=Count("posts"))

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:

            class UploadForm(ImageUploadForm):
                def __init__(self, *args, **kwargs):
                    super().__init__(*args, user=request.user, **kwargs)

            return UploadForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ImageUploadForm.Meta.fields
        return ["thumbnail", "markdown", *self.fields, "dimensions", "size", "format", "files",
                "uploaded_by", "uploaded_at", "used_in"]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def save_model(self, request, obj, form, change):
        obj.save()
        if not change:
            obj.already_in_library = not form.created
            return
        if {"alt_text", "decorative", "caption", "credit"} & set(form.changed_data):
            images.rerender_posts_using(obj)

    def response_add(self, request, obj, post_url_continue=None):
        # To the image itself, where its Markdown is, whatever button was pressed.
        if getattr(obj, "already_in_library", False):
            message = "The library already had this image; here it is. Nothing was added."
        else:
            message = "Uploaded. Copy its Markdown below into a post."
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:blog_image_change", args=[obj.pk]))

    def get_deleted_objects(self, objs, request):
        deleted, counts, permissions_needed, protected = super().get_deleted_objects(objs, request)
        for image in objs:
            for post in image.posts.order_by("title"):
                link = reverse("admin:blog_post_change", args=[post.pk])
                protected.append(format_html('Post: <a href="{}">{}</a>', link, post.title))
        return deleted, counts, permissions_needed, protected

    def delete_model(self, request, obj):
        images.delete_image(obj)

    def delete_queryset(self, request, queryset):
        for image in queryset:
            images.delete_image(image)

    @admin.display(description="Preview")
    def thumbnail(self, image):
        name = image.variants[0]["name"] if image.variants else image.email_copy["name"]
        scale = min(1, THUMBNAIL_SIZE / image.width, THUMBNAIL_SIZE / image.height)
        return format_html(
            '<img src="{}" alt="" width="{}" height="{}" class="image-thumbnail">',
            media_url(name),
            max(1, round(image.width * scale)),
            max(1, round(image.height * scale)),
        )

    @admin.display(description="Alt text")
    def description(self, image):
        if image.decorative:
            return "Decorative"
        return image.alt_text or "(none yet)"

    @admin.display(description="Size in pixels")
    def dimensions(self, image):
        return f"{image.width} × {image.height}{' (animated)' if image.animated else ''}"

    @admin.display(description="File size")
    def size(self, image):
        return filesizeformat(image.file_size)

    @admin.display(description="Posts", ordering="post_count")
    def post_count(self, image):
        return image.post_count

    @admin.display(description="Markdown to paste into a post")
    def markdown(self, image):
        return format_html(
            '<textarea readonly rows="2" cols="60" class="vLargeTextField" '
            'aria-label="Markdown for this image">{}</textarea>',
            image.markdown(),
        )

    @admin.display(description="Files served")
    def files(self, image):
        return format_html_join(
            ", ", '<a href="{}">{}</a>', ((media_url(name), name) for name in image.stored_names())
        )

    @admin.display(description="Shown in")
    def used_in(self, image):
        posts = image.posts.order_by("title")
        if not posts:
            return "No post yet: the image can be deleted."
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:blog_post_change", args=[post.pk]), post.title) for post in posts),
        )
