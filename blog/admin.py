from functools import partial

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from blog import admin_import, editing, revisions
from blog.forms import KEEP, PostForm, apply_publishing
from blog.image_admin import ImageAdmin
from blog.models import WORDS_PER_MINUTE, Image, Post, Series, Tag


class VisibilityFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "visibility"

    def lookups(self, request, model_admin):
        return [("draft", "Draft"), ("scheduled", "Scheduled"), ("published", "Published")]

    def queryset(self, request, queryset):
        live = Post.objects.published().values("pk")
        if self.value() == "draft":
            return queryset.filter(status=Post.Status.DRAFT)
        if self.value() == "scheduled":
            return queryset.filter(status=Post.Status.PUBLISHED).exclude(pk__in=live)
        if self.value() == "published":
            return queryset.filter(pk__in=live)
        return queryset


REVISION_REASONS = {
    "draft": "Saved draft",
    "publish": "Published",
    "schedule": "Scheduled",
    "update": "Updated",
    "unpublish": "Unpublished",
    KEEP: "Saved",
}


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    form = PostForm
    change_form_template = "admin/blog/post/change_form.html"
    object_history_template = "admin/blog/post/revisions.html"
    list_display = ["title", "visibility", "published_at", "series", "tag_names"]
    list_filter = [VisibilityFilter, "tags", "series"]
    search_fields = ["title", "summary", "body"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["tags", "series"]
    date_hierarchy = "published_at"
    actions = ["publish_now", "unpublish", admin_import.export_as_markdown]
    fields = PostForm.Meta.fields
    # Form fields other apps add to the publishing box (the newsletter's "email it" choice).
    publishing_fields = []

    def get_urls(self):
        admin_view = self.admin_site.admin_view
        return [
            path("preview/", editing.preview, name="blog_post_preview"),
            path("autosave/", editing.autosave, name="blog_post_autosave_new"),
            path(
                "import/",
                admin_view(partial(admin_import.import_view, self)),
                name="blog_post_import",
            ),
            path("<path:object_id>/autosave/", editing.autosave, name="blog_post_autosave"),
            path(
                "<path:object_id>/history/<int:history_id>/",
                admin_view(self.revision_view),
                name="blog_post_revision",
            ),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("series").prefetch_related("tags")

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        context.update(
            post_form=form,
            publishing_fields=[
                form[name] for name in self.publishing_fields if name in form.fields
            ],
            preview_url=reverse("admin:blog_post_preview"),
            autosave_url=(
                reverse("admin:blog_post_autosave", args=[obj.pk])
                if obj is not None and obj.pk
                else reverse("admin:blog_post_autosave_new")
            ),
            image_upload_url=reverse("admin:blog_image_upload"),
            site_stylesheet=static("css/site.css"),
            words_per_minute=WORDS_PER_MINUTE,
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        # The revision is recorded in save_related, once the tags are saved as well.
        revisions.save_without_revision(obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        reason = REVISION_REASONS[form.publish_action]
        revisions.record(form.instance, user=request.user, reason=reason, created=not change)

    def response_add(self, request, obj, post_url_continue=None):
        if IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        return self._stay_on_form(request, obj)

    def response_change(self, request, obj):
        if IS_POPUP_VAR in request.POST or "_saveasnew" in request.POST:
            return super().response_change(request, obj)
        return self._stay_on_form(request, obj)

    def _stay_on_form(self, request, post):
        """Every button saves and comes back to the post: writing goes on where it was."""
        self.message_user(request, self.publishing_message(post), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:blog_post_change", args=[post.pk]))

    def publishing_message(self, post):
        if post.status == Post.Status.DRAFT:
            return "Saved as a draft: only staff can see it."
        if post.is_scheduled:
            when = timezone.localtime(post.published_at)
            return f"Scheduled: readers see it from {when:%Y-%m-%d %H:%M %Z}."
        return format_html(
            'Published: readers see it at <a href="{}">{}</a>.',
            post.get_absolute_url(),
            post.get_absolute_url(),
        )

    def history_view(self, request, object_id, extra_context=None):
        post = self.get_object(request, unquote(object_id))
        if post is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, post):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"Revisions of “{post}”",
            "subtitle": None,
            "opts": self.opts,
            "original": post,
            "object": post,
            "revisions": revisions.revisions_of(post),
            "autosaves_kept": revisions.AUTOSAVES_KEPT,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_history_template, context)

    def revision_view(self, request, object_id, history_id):
        post = self.get_object(request, unquote(object_id))
        if post is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, post):
            raise PermissionDenied
        revision = get_object_or_404(post.history, history_id=history_id)
        if request.method == "POST":
            if not self.has_change_permission(request, post):
                raise PermissionDenied
            revisions.restore(post, revision, user=request.user)
            when = timezone.localtime(revision.history_date)
            self.message_user(
                request,
                f"Restored the words of the revision of {when:%Y-%m-%d %H:%M}, kept as a new "
                "revision. Publishing is as it was: the buttons below change it.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:blog_post_change", args=[post.pk]))
        current = revisions.revisions_of(post).first()
        changes, body_lines = revisions.compare(revision, current)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Revision of “{post}”",
            "subtitle": None,
            "opts": self.opts,
            "original": post,
            "revision": revision,
            "current": current,
            "is_current": revision.pk == current.pk,
            "changes": changes,
            "body_lines": body_lines,
            "can_restore": self.has_change_permission(request, post),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/blog/post/revision.html", context)

    @admin.display(description="Status")
    def visibility(self, post):
        if post.status == Post.Status.DRAFT:
            return "Draft"
        return "Scheduled" if post.is_scheduled else "Published"

    @admin.display(description="Tags")
    def tag_names(self, post):
        return ", ".join(tag.name for tag in post.tags.all())

    @admin.action(description="Publish selected posts now", permissions=["change"])
    def publish_now(self, request, queryset):
        now = timezone.now()
        published = 0
        for post in queryset.exclude(pk__in=Post.objects.published()):
            post.render()
            if message := post.undescribed_images_message():
                self.message_user(request, f"“{post}” stays a draft. {message}", messages.ERROR)
                continue
            apply_publishing(post, "publish", now)
            post._history_user, post._change_reason = request.user, REVISION_REASONS["publish"]
            post.save()
            published += 1
        self.message_user(request, f"Published {published} post(s).", messages.SUCCESS)

    @admin.action(description="Unpublish selected posts (back to draft)", permissions=["change"])
    def unpublish(self, request, queryset):
        unpublished = 0
        for post in queryset.filter(status=Post.Status.PUBLISHED):
            apply_publishing(post, "unpublish", timezone.now())
            post._history_user, post._change_reason = request.user, REVISION_REASONS["unpublish"]
            post.save()
            unpublished += 1
        self.message_user(request, f"Moved {unpublished} post(s) back to draft.", messages.SUCCESS)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "post_count"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(post_count=Count("posts"))

    @admin.display(description="Posts", ordering="post_count")
    def post_count(self, tag):
        return tag.post_count


class SeriesPartInline(admin.TabularInline):
    model = Post
    fields = ["series_part", "title", "status", "published_at"]
    readonly_fields = fields
    ordering = ["series_part"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name = "part"
    verbose_name_plural = "parts, in order"


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "part_count"]
    search_fields = ["title", "description"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [SeriesPartInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(part_count=Count("posts"))

    @admin.display(description="Parts", ordering="part_count")
    def part_count(self, series):
        return series.part_count


admin.site.register(Image, ImageAdmin)
