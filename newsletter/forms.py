from django import forms


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

    def clean_page(self):
        page = self.cleaned_data["page"]
        return page if page.startswith("/") and not page.startswith("//") else ""
