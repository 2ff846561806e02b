"""The editor's endpoints in the admin: the live preview and autosave. Both answer JSON.

Both are for staff only: anyone else gets a 403 (not the admin's login redirect, which a script
cannot show). Both are CSRF-protected, accept POST only and are rate-limited per user.
"""

from functools import wraps

from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from blog import revisions
from blog.figures import ALT_PLACEHOLDER
from blog.forms import AutosaveForm
from blog.images import ImageRejected, add_image
from blog.models import BODY_MAX_LENGTH, Image, Post, reading_minutes, unused_slug
from blog.rendering import MarkdownTooDeep, render_post
from core.ratelimit import allow_request

# A preview follows each pause in typing, an autosave each few seconds of it; these are far above
# what one author types and far below what a runaway script would send.
PREVIEWS_PER_MINUTE = 120
AUTOSAVES_PER_MINUTE = 60
IMAGE_UPLOADS_PER_MINUTE = 30


def staff_endpoint(view):
    @wraps(view)
    def checked(request, *args, **kwargs):
        if not (request.user.is_active and request.user.is_staff):
            return JsonResponse({"error": "Sign in to the admin as staff first."}, status=403)
        return view(request, *args, **kwargs)

    return never_cache(csrf_protect(require_POST(checked)))


def _too_many(what):
    return JsonResponse({"error": f"Too many {what} in a minute; wait a moment."}, status=429)


@staff_endpoint
def preview(request):
    """The body rendered exactly as the site renders it, sanitized, and nothing saved."""
    if not (request.user.has_perm("blog.change_post") or request.user.has_perm("blog.add_post")):
        return JsonResponse({"error": "You may not write posts."}, status=403)
    if not allow_request(f"blog:preview:{request.user.pk}", PREVIEWS_PER_MINUTE, 60):
        return _too_many("previews")
    body = request.POST.get("body", "")
    if len(body) > BODY_MAX_LENGTH:
        return JsonResponse(
            {"error": f"The body is {len(body):,} characters; the limit is {BODY_MAX_LENGTH:,}."},
            status=400,
        )
    try:
        rendered = render_post(body, find_images=Image.objects.by_key)
    except MarkdownTooDeep as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse(
        {
            "html": rendered.html,
            "toc_html": rendered.toc_html,
            "words": len(body.split()),
            "reading_minutes": reading_minutes(body),
        }
    )


@staff_endpoint
def autosave(request, object_id=None):
    """Saves a draft's words as they are typed: never its status, so it never publishes and
    never emails. A new post becomes a draft on its first autosave; a published or scheduled
    post is not autosaved (the editor keeps its unsaved words in the browser instead)."""
    if object_id is None:
        if not request.user.has_perm("blog.add_post"):
            return JsonResponse({"error": "You may not add posts."}, status=403)
        post = Post(author=request.user, status=Post.Status.DRAFT)
    else:
        if not request.user.has_perm("blog.change_post"):
            return JsonResponse({"error": "You may not change posts."}, status=403)
        post = Post.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if post is None:
            return JsonResponse({"error": "This post no longer exists."}, status=404)
        if post.status != Post.Status.DRAFT:
            return JsonResponse(
                {"error": "Published posts are not autosaved: use Update to change them."},
                status=409,
            )
    if not allow_request(f"blog:autosave:{request.user.pk}", AUTOSAVES_PER_MINUTE, 60):
        return _too_many("autosaves")
    data = request.POST.copy()
    data["slug"] = _autosave_slug(post, data.get("slug", ""), data.get("title", ""))
    form = AutosaveForm(data, instance=post)
    if not form.is_valid():
        errors = {field: " ".join(messages) for field, messages in form.errors.items()}
        return JsonResponse({"error": "Not autosaved: " + _first_error(form), "fields": errors},
                            status=400)  # fmt: skip
    created = post.pk is None
    post = form.save(commit=False)
    revisions.save_without_revision(post)
    revisions.record(post, user=request.user, reason=revisions.AUTOSAVE, created=created)
    return JsonResponse(
        {
            "saved_at": f"{timezone.localtime(post.updated_at):%H:%M}",
            "post_id": post.pk,
            "slug": post.slug,
            "change_url": reverse("admin:blog_post_change", args=[post.pk]),
            "autosave_url": reverse("admin:blog_post_autosave", args=[post.pk]),
        }
    )


def _autosave_slug(post, slug, title):
    """An autosave never fails over the slug: a new post takes a free one made from the slug
    sent (the title's, prefilled by the form) or the title; a draft keeps its own when the one
    sent is empty or another post's."""
    others = Post.objects.exclude(pk=post.pk) if post.pk else Post.objects.all()
    taken = bool(slug) and others.filter(slug=slug).exists()
    if post.pk is None:
        return unused_slug(Post, slug or title, fallback="draft") if taken or not slug else slug
    return post.slug if taken or not slug else slug


def _first_error(form):
    field, messages = next(iter(form.errors.items()))
    label = form.fields[field].label if field in form.fields else ""
    return f"{label}: {messages[0]}" if label else messages[0]


@staff_endpoint
def upload_image(request):
    """An image dropped, pasted or picked in the editor, added to the library; answers with the
    Markdown to put in the body (its alt text a placeholder to type over when none was given)."""
    if not request.user.has_perm("blog.add_image"):
        return JsonResponse({"error": "You may not upload images."}, status=403)
    if not allow_request(f"blog:image_upload:{request.user.pk}", IMAGE_UPLOADS_PER_MINUTE, 60):
        return _too_many("uploads")
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": "Choose an image file to upload."}, status=400)
    alt_text = request.POST.get("alt_text", "").strip()[:300]
    try:
        image, created = add_image(
            upload,
            user=request.user,
            alt_text=alt_text,
            decorative=request.POST.get("decorative") in {"1", "on", "true"},
        )
    except ImageRejected as error:
        return JsonResponse({"error": str(error)}, status=400)
    alt_in_body = alt_text or image.alt_text or ("" if image.decorative else ALT_PLACEHOLDER)
    return JsonResponse(
        {
            "url": image.url,
            "markdown": image.markdown(alt_in_body),
            "alt_text": alt_text or image.alt_text,
            "alt_placeholder": ALT_PLACEHOLDER,
            "created": created,
            "name": str(image),
        }
    )
