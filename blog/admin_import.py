"""Markdown export and import in the posts' admin.

`export_as_markdown` is a changelist action: the selected posts as a zip of Markdown files, with
the images they show.
`import_view` is the import page: choose a file, see what importing it would do (a dry run),
then confirm. The confirming form does not send the file again: the upload waits in the
default storage under imports/, and the page carries its name signed for this user, for an hour.
"""

import secrets
from datetime import timedelta
from pathlib import PurePath

from django import forms
from django.contrib import admin
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from blog import ghost_import, markdown_files, portability
from blog.portability import (
    ADDED,
    CREATED,
    UPDATED,
    ImageEntry,
    SkippedEntry,
    import_entries,
    summary_line,
)

UPLOAD_FOLDER = "imports"
UPLOAD_MAX_AGE = 60 * 60
SIGNING_SALT = "blog.admin_import.upload"
FORMAT_OF_EXTENSION = {".md": "markdown", ".zip": "markdown", ".json": "ghost"}
TEMPLATE = "admin/blog/post/import.html"


@admin.action(description="Export as Markdown (.zip)")
def export_as_markdown(modeladmin, request, queryset):
    posts = markdown_files.exported_posts(posts=queryset)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(markdown_files.export_zip(posts), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="posts-{stamp}.zip"'
    return response


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="A Markdown file with front matter, a .zip of them (with their images, as "
        "the export makes it), or a Ghost JSON export.",
        widget=forms.FileInput(attrs={"accept": ".md,.zip,.json"}),
    )
    source_format = forms.ChoiceField(
        label="Format",
        choices=[
            ("", "By the file's extension (.json is Ghost)"),
            ("markdown", "Markdown (.md or .zip)"),
            ("ghost", "Ghost JSON export"),
        ],
        required=False,
        widget=forms.RadioSelect,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if PurePath(upload.name).suffix.lower() not in FORMAT_OF_EXTENSION:
            raise forms.ValidationError("Choose a .md, .zip or .json file.")
        # Checked before the upload is read into memory.
        if upload.size > portability.IMPORT_MAX_BYTES:
            raise forms.ValidationError(f"{upload.name} {portability.too_large(upload.size)}.")
        return upload

    def chosen_format(self):
        extension = PurePath(self.cleaned_data["file"].name).suffix.lower()
        return self.cleaned_data["source_format"] or FORMAT_OF_EXTENSION[extension]


def import_view(model_admin, request):
    """GET: the form. POST with a file: the dry run's report. POST with a token: the import."""
    if not _may_import(model_admin, request):
        raise PermissionDenied
    if request.method == "POST" and "token" in request.POST:
        return _confirm(model_admin, request)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    if not form.is_valid():
        return _page(model_admin, request, form=form)
    upload, source_format = form.cleaned_data["file"], form.chosen_format()
    data = upload.read()
    results = import_entries(
        _entries(upload.name, data, source_format, request.user), dry_run=True, user=request.user
    )
    token = None
    if any(result.outcome in {CREATED, UPDATED, ADDED} for result in results):
        token = _keep_upload(request, upload.name, data, source_format)
    return _page(model_admin, request, results=results, token=token, filename=upload.name)


def _may_import(model_admin, request):
    return (
        request.user.is_active
        and request.user.is_staff
        and model_admin.has_add_permission(request)
        and model_admin.has_change_permission(request)
    )


def _entries(filename, data, source_format, user):
    if source_format == "ghost":
        return ghost_import.entries_from_export(filename, data, default_author=user)
    entries = markdown_files.entries_from_upload(filename, data, default_author=user)
    if user.has_perm("blog.add_image"):
        return entries
    return [_not_permitted(entry) if isinstance(entry, ImageEntry) else entry for entry in entries]


def _not_permitted(entry):
    """An image this user may not add: skipped, and said so (one already there stays there)."""

    def read():
        raise SkippedEntry("you may not add images to the library")

    return ImageEntry(entry.name, entry.key, read)


def _keep_upload(request, filename, data, source_format):
    """Stores the upload for the confirming POST; returns the signed token that names it."""
    _remove_expired_uploads()
    extension = PurePath(filename).suffix.lower()
    stored = default_storage.save(
        f"{UPLOAD_FOLDER}/{secrets.token_urlsafe(18)}{extension}", ContentFile(data)
    )
    upload = {"name": stored, "filename": filename, "format": source_format}
    return signing.dumps(upload, salt=_salt(request))


def _salt(request):
    # Tied to the user: a token seen by someone else imports nothing for them.
    return f"{SIGNING_SALT}.{request.user.pk}"


def _confirm(model_admin, request):
    try:
        upload = signing.loads(request.POST["token"], salt=_salt(request), max_age=UPLOAD_MAX_AGE)
    except signing.BadSignature:
        upload = None
    name = upload and upload["name"]
    if not name or not name.startswith(f"{UPLOAD_FOLDER}/") or not default_storage.exists(name):
        error = "This upload has expired or was already imported: choose the file again."
        return _page(model_admin, request, form=ImportForm(), error=error)
    with default_storage.open(name) as file:
        data = file.read()
    entries = _entries(upload["filename"], data, upload["format"], request.user)
    results = import_entries(entries, user=request.user)
    default_storage.delete(name)
    return _page(model_admin, request, results=results, filename=upload["filename"], done=True)


def _remove_expired_uploads():
    """Uploads checked but never confirmed are removed once their token has expired."""
    try:
        _, files = default_storage.listdir(UPLOAD_FOLDER)
    except (FileNotFoundError, NotImplementedError):
        return
    expired = timezone.now() - timedelta(seconds=UPLOAD_MAX_AGE)
    for file in files:
        name = f"{UPLOAD_FOLDER}/{file}"
        try:
            if default_storage.get_modified_time(name) < expired:
                default_storage.delete(name)
        except (FileNotFoundError, NotImplementedError):
            continue


def _page(
    model_admin, request, *, form=None, error="", results=None, token=None, filename="", done=False
):
    opts = model_admin.model._meta
    if done:
        title = f"Imported {filename}"
    elif results is not None:
        title = f"What importing {filename} would do"
    else:
        title = "Import posts"
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": title,
        "subtitle": None,
        "form": form,
        "error": error,
        "results": results,
        "summary": summary_line(results) if results is not None else "",
        "token": token,
        "done": done,
        "changelist_url": reverse(
            f"admin:{opts.app_label}_{opts.model_name}_changelist",
            current_app=model_admin.admin_site.name,
        ),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, TEMPLATE, context)
