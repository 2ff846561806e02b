from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone

from blog.models import Post, Series, Tag


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


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["title", "visibility", "published_at", "series", "tag_names"]
    list_filter = [VisibilityFilter, "tags", "series"]
    search_fields = ["title", "summary", "body"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["tags"]
    date_hierarchy = "published_at"
    actions = ["publish_now", "unpublish"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "body"]}),
        ("Publishing", {"fields": ["status", "published_at", "author"]}),
        ("Grouping", {"fields": ["tags", "series", "series_part"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("series").prefetch_related("tags")

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

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
        # Fix the selection first: moving a scheduled post to now makes it "published".
        not_live_pks = list(
            queryset.exclude(pk__in=Post.objects.published()).values_list("pk", flat=True)
        )
        not_live = Post.objects.filter(pk__in=not_live_pks)
        not_live.filter(Q(published_at__isnull=True) | Q(published_at__gt=now)).update(
            published_at=now
        )
        count = not_live.update(status=Post.Status.PUBLISHED)
        self.message_user(request, f"Published {count} post(s).", messages.SUCCESS)

    @admin.action(description="Unpublish selected posts (back to draft)", permissions=["change"])
    def unpublish(self, request, queryset):
        count = queryset.filter(status=Post.Status.PUBLISHED).update(status=Post.Status.DRAFT)
        self.message_user(request, f"Moved {count} post(s) back to draft.", messages.SUCCESS)


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
