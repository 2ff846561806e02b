"""The post form of the admin, with its publishing buttons, and the smaller form autosave uses."""

from django import forms
from django.utils import timezone

from blog.models import Post

# What each button does, by the state the post is in when the form opens. The first button is
# the one Enter and Ctrl+S press: it never changes whether readers see the post.
BUTTONS = {
    "new": [("draft", "Save draft"), ("publish", "Publish now"), ("schedule", "Schedule")],
    "draft": [("draft", "Save draft"), ("publish", "Publish now"), ("schedule", "Schedule")],
    "scheduled": [("schedule", "Schedule"), ("publish", "Publish now"), ("unpublish", "Unpublish")],
    "live": [("update", "Update"), ("unpublish", "Unpublish")],
}
# A form sent without a button (a script, an older page) keeps the post as it is.
KEEP = "keep"


def publishing_state(post):
    if post.pk is None:
        return "new"
    if post.status == Post.Status.DRAFT:
        return "draft"
    return "scheduled" if post.is_scheduled else "live"


def apply_publishing(post, action, now):
    """Sets the post's status (and, to publish now, its time) for a button of BUTTONS."""
    if action in {"draft", "unpublish"}:
        post.status = Post.Status.DRAFT
    elif action == "publish":
        post.status = Post.Status.PUBLISHED
        if post.published_at is None or post.published_at > now:
            post.published_at = now
    elif action in {"schedule", "update"}:
        post.status = Post.Status.PUBLISHED


class PublishTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class PostForm(forms.ModelForm):
    published_at = forms.DateTimeField(
        label="Publish time",
        required=False,
        widget=PublishTimeInput(),
    )

    class Meta:
        model = Post
        fields = [
            "title", "slug", "summary", "body", "published_at", "author", "tags", "series",
            "series_part",
        ]  # fmt: skip
        widgets = {
            "title": forms.TextInput(attrs={"class": "post-form__title", "autocomplete": "off"}),
            "summary": forms.Textarea(attrs={"rows": 3}),
            "body": forms.Textarea(
                attrs={"rows": 24, "class": "post-editor__body", "spellcheck": "true"}
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state = publishing_state(self.instance)
        zone = timezone.get_current_timezone_name()
        self.fields[
            "published_at"
        ].help_text = (
            f"In {zone}. Empty means the moment you publish; a future time is for Schedule."
        )
        self.publish_action = KEEP

    @property
    def buttons(self):
        return BUTTONS[self.state]

    def clean_published_at(self):
        published_at = self.cleaned_data["published_at"]
        current = self.instance.published_at
        # The input shows whole minutes: a time sent back unchanged keeps its seconds.
        if published_at and current and published_at == current.replace(second=0, microsecond=0):
            return current
        # Emptied on a live post: it stays where it is in the listing rather than jumping to now.
        if published_at is None and self.state == "live":
            return current
        return published_at

    def clean(self):
        cleaned = super().clean()
        action = self.data.get("_action", KEEP)
        allowed = {value for value, _ in self.buttons}
        if action != KEEP and action not in allowed:
            raise forms.ValidationError("That button does not apply to this post; reload the page.")
        published_at = cleaned.get("published_at")
        if action == "schedule" and (published_at is None or published_at <= timezone.now()):
            self.add_error(
                "published_at", "To schedule, choose a time in the future, or use Publish now."
            )
        if action == "update" and published_at is not None and published_at > timezone.now():
            # Update is the first button, pressed by Ctrl+S: it never hides a live post.
            self.add_error(
                "published_at",
                "A live post's time cannot be in the future; to schedule it, Unpublish it first.",
            )
        self.publish_action = action
        return cleaned

    def _post_clean(self):
        super()._post_clean()  # the model's clean(), which renders the body
        going_public = self.publish_action in {"publish", "schedule", "update"} or (
            self.publish_action == KEEP and self.instance.status == Post.Status.PUBLISHED
        )
        message = going_public and self.instance.undescribed_images_message()
        if message and "body" not in self.errors:
            self.add_error("body", message)

    def save(self, commit=True):
        post = super().save(commit=False)
        apply_publishing(post, self.publish_action, timezone.now())
        if commit:
            post.save()
            self.save_m2m()
        return post


class AutosaveForm(forms.ModelForm):
    """What an autosave may change: the words. Never the status, so never what readers see."""

    class Meta:
        model = Post
        fields = ["title", "slug", "summary", "body"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A draft half written still autosaves: only a title is needed, to name it.
        for name in ("slug", "summary", "body"):
            self.fields[name].required = False
