from django import forms

from blog.models import Series, Tag
from newsletter import services


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com"}),
    )
    # Where the form was: recorded with the consent. Only a path on this site is kept.
    page = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    # The honeypot: hidden from people, filled in by bots.
    website = forms.CharField(required=False, label="Leave this empty")
    # Set by a series' or a tag's box: subscribe to only that (a slug).
    series = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    tag = forms.CharField(required=False, max_length=50, widget=forms.HiddenInput)

    def clean_page(self):
        page = self.cleaned_data["page"]
        return page if page.startswith("/") and not page.startswith("//") else ""

    def clean(self):
        cleaned = super().clean()
        series_slug, tag_slug = cleaned.get("series"), cleaned.get("tag")
        cleaned["topic"] = None
        if series_slug and tag_slug:
            raise forms.ValidationError("Choose a series or a tag, not both.")
        if series_slug:
            cleaned["topic"] = services.offered_series().filter(slug=series_slug).first()
            if cleaned["topic"] is None:
                raise forms.ValidationError(
                    f"There is no series “{series_slug}” to subscribe to. You can subscribe "
                    "to every new post instead."
                )
        elif tag_slug:
            cleaned["topic"] = services.offered_tags().filter(slug=tag_slug).first()
            if cleaned["topic"] is None:
                raise forms.ValidationError(
                    f"There is no tag “{tag_slug}” to subscribe to. You can subscribe to every "
                    "new post instead."
                )
        return cleaned


class ChoicesForm(forms.Form):
    """What a subscriber gets: every new post, or only the series and tags they tick."""

    EVERYTHING, CHOSEN = "everything", "chosen"

    get = forms.ChoiceField(
        choices=[(EVERYTHING, "Every new post"), (CHOSEN, "Only what I choose")],
        widget=forms.RadioSelect,
        label="Send me",
    )
    series = forms.ModelMultipleChoiceField(
        queryset=Series.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, subscriber=None, **kwargs):
        if subscriber is not None:
            kwargs.setdefault(
                "initial",
                {
                    "get": self.EVERYTHING if subscriber.everything else self.CHOSEN,
                    "series": [series.pk for series in subscriber.series.all()],
                    "tags": [tag.pk for tag in subscriber.tags.all()],
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["series"].queryset = services.offered_series()
        self.fields["tags"].queryset = services.offered_tags()

    def clean(self):
        cleaned = super().clean()
        cleaned["everything"] = cleaned.get("get") == self.EVERYTHING
        chosen = [*cleaned.get("series", []), *cleaned.get("tags", [])]
        if cleaned.get("get") == self.CHOSEN and not chosen and not self.errors:
            raise forms.ValidationError(
                "Tick at least one series or tag, or choose “Every new post”."
            )
        return cleaned


class EraseForm(forms.Form):
    understood = forms.BooleanField(
        label="I understand: my address, my choices and what was sent to me are deleted for "
        "good, and this address cannot be subscribed again by an import."
    )
