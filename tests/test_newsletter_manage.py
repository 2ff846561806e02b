import json
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from blog.models import Post, Series, Tag
from newsletter.models import Delivery, NewsletterIssue, Subscriber, Suppression
from newsletter.tokens import make_manage_token, make_unsubscribe_token
from tests.chromium import launched_chromium, needs_chromium

CONFIRMED = Subscriber.Status.CONFIRMED
UNSUBSCRIBED = Subscriber.Status.UNSUBSCRIBED


@pytest.fixture
def topics(make_post):
    """Two series and two tags with public posts, and a series and a tag with only drafts."""
    proofs = Series.objects.create(title="Proofs", slug="proofs")
    queues = Series.objects.create(title="Queues", slug="queues")
    python = Tag.objects.create(name="Python", slug="python")
    rust = Tag.objects.create(name="Rust", slug="rust")
    unseen_series = Series.objects.create(title="Unseen series", slug="unseen")
    unseen_tag = Tag.objects.create(name="Unseen tag", slug="unseen-tag")
    make_post(series=proofs, series_part=1, tags=[python])
    make_post(series=proofs, series_part=2, tags=[python])
    make_post(series=queues, series_part=1, tags=[rust])
    make_post(status=Post.Status.DRAFT, series=unseen_series, series_part=1, tags=[unseen_tag])
    return {
        "proofs": proofs,
        "queues": queues,
        "python": python,
        "rust": rust,
        "unseen series": unseen_series,
        "unseen tag": unseen_tag,
    }


@pytest.fixture
def ada(make_subscriber):
    return make_subscriber("ada@example.com")


def manage_path(subscriber):
    return reverse("newsletter:manage", args=[make_manage_token(subscriber)])


def data_path(subscriber):
    return reverse("newsletter:manage_data", args=[make_manage_token(subscriber)])


def reloaded(subscriber):
    return Subscriber.objects.get(pk=subscriber.pk)


def choose(client, subscriber, get, *, series=(), tags=()):
    data = {"action": "choices", "get": get, "series": series, "tags": tags}
    return client.post(manage_path(subscriber), data)


def test_manage_page_shows_address_status_and_every_offered_series_and_tag(client, ada, topics):
    response = client.get(manage_path(ada))
    content = response.content.decode()
    assert response.status_code == 200
    assert "ada@example.com" in content
    assert "Subscribed: you get every new post by email." in content
    for name in ["Proofs", "Queues", "Python", "Rust"]:
        assert name in content
    assert "Unseen" not in content


def test_manage_page_is_never_cached_and_answers_head(client, ada):
    assert "no-store" in client.get(manage_path(ada))["Cache-Control"]
    assert client.head(manage_path(ada)).status_code == 200


def ticked(content, name, value):
    """Whether the page's radio button or checkbox `name` with `value` is ticked."""
    match = re.search(
        rf'<input type="(?:radio|checkbox)" name="{name}" value="{value}"[^>]*>', content
    )
    assert match, f"no {name}={value} input"
    return " checked" in match.group(0)


def test_manage_page_is_prefilled_with_the_subscribers_choices(client, ada, topics):
    ada.everything = False
    ada.save()
    ada.series.set([topics["queues"]])
    ada.tags.set([topics["python"]])
    content = client.get(manage_path(ada)).content.decode()
    assert ticked(content, "get", "chosen")
    assert not ticked(content, "get", "everything")
    assert ticked(content, "series", topics["queues"].pk)
    assert not ticked(content, "series", topics["proofs"].pk)
    assert ticked(content, "tags", topics["python"].pk)
    assert not ticked(content, "tags", topics["rust"].pk)
    assert "you get the series “Queues” and posts tagged “Python” by email" in content


def test_manage_page_takes_five_queries_however_many_topics(
    client, ada, topics, django_assert_num_queries
):
    ada.everything = False
    ada.save()
    ada.series.set([topics["proofs"], topics["queues"]])
    ada.tags.set([topics["python"], topics["rust"]])
    path = manage_path(ada)
    # The subscriber, their series and tags, and the series and tags on offer.
    with django_assert_num_queries(5):
        assert client.get(path).status_code == 200


def test_saving_chosen_series_and_tags_redirects_with_a_saved_message(client, ada, topics):
    response = choose(client, ada, "chosen", series=[topics["proofs"].pk], tags=[topics["rust"].pk])
    assert response.status_code == 303
    assert response["Location"] == manage_path(ada)
    ada = reloaded(ada)
    assert ada.everything is False
    assert list(ada.series.all()) == [topics["proofs"]]
    assert list(ada.tags.all()) == [topics["rust"]]
    content = client.get(response["Location"]).content.decode()
    assert "Saved: you get the series “Proofs” and posts tagged “Rust”." in content


def test_choosing_every_post_again_drops_the_chosen_topics(client, ada, topics):
    choose(client, ada, "chosen", series=[topics["proofs"].pk])
    response = choose(client, ada, "everything", series=[topics["queues"].pk])
    assert response.status_code == 303
    ada = reloaded(ada)
    assert ada.everything is True
    assert not ada.series.exists()
    assert "Saved: you get every new post." in client.get(manage_path(ada)).content.decode()


@pytest.mark.parametrize("offered", [False, True])
def test_a_series_not_on_offer_is_a_form_error_and_changes_nothing(client, ada, topics, offered):
    unknown = topics["unseen series"].pk if offered else 999_999
    response = choose(client, ada, "chosen", series=[topics["proofs"].pk, unknown])
    assert response.status_code == 400
    assert f"Select a valid choice. {unknown} is not one of the available choices." in (
        response.content.decode()
    )
    assert reloaded(ada).everything is True
    assert not ada.series.exists()


def test_a_tag_id_that_is_not_a_number_is_a_form_error(client, ada, topics):
    response = choose(client, ada, "chosen", tags=["python"])
    assert response.status_code == 400
    assert "“python” is not a valid value." in response.content.decode()
    assert reloaded(ada).everything is True


def test_only_what_i_choose_with_nothing_chosen_is_a_form_error(client, ada, topics):
    response = choose(client, ada, "chosen")
    assert response.status_code == 400
    assert "Tick at least one series or tag" in response.content.decode()
    assert reloaded(ada).everything is True


def test_a_missing_choice_is_a_form_error(client, ada, topics):
    response = client.post(manage_path(ada), {"action": "choices"})
    assert response.status_code == 400
    assert reloaded(ada).everything is True


def test_an_unknown_action_is_400_and_changes_nothing(client, ada):
    response = client.post(manage_path(ada), {"action": "resubscribe"})
    assert response.status_code == 400
    assert "Nothing was changed" in response.content.decode()
    assert reloaded(ada).status == CONFIRMED


def test_unsubscribe_from_the_manage_page(client, ada):
    response = client.post(manage_path(ada), {"action": "unsubscribe"})
    assert response.status_code == 303
    ada = reloaded(ada)
    assert ada.status == UNSUBSCRIBED
    assert ada.unsubscribed_at is not None
    content = client.get(response["Location"]).content.decode()
    assert "Saved: you are unsubscribed." in content
    assert "Unsubscribed: nothing is sent to this address." in content


def test_unsubscribed_page_offers_no_choices_and_resubscribes_only_by_the_form(
    client, make_subscriber, topics
):
    gone = make_subscriber("gone@example.com", status=UNSUBSCRIBED)
    content = client.get(manage_path(gone)).content.decode()
    assert "Only what I choose" not in content
    assert f'action="{reverse("newsletter:subscribe")}"' in content
    assert 'value="gone@example.com"' in content
    response = choose(client, gone, "chosen", series=[topics["proofs"].pk])
    assert response.status_code == 400
    assert reloaded(gone).status == UNSUBSCRIBED
    assert not gone.series.exists()


def test_data_download_is_a_json_attachment_with_choices_consent_and_deliveries(
    client, make_subscriber, topics
):
    ada = make_subscriber(
        "ada@example.com",
        everything=False,
        consent_page="/posts/proofs/",
        consent_wording="Tell me when the next part ships",
        consent_source="imported from Ghost",
    )
    ada.series.set([topics["proofs"]])
    ada.tags.set([topics["python"]])
    issue = NewsletterIssue.objects.create(
        subject="Part two", post_url="https://blog.example/posts/two/", html_body="", text_body=""
    )
    sent_at = timezone.now()
    Delivery.objects.create(
        issue=issue, subscriber=ada, status=Delivery.Status.SENT, sent_at=sent_at, event="delivered"
    )
    response = client.get(data_path(ada))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="newsletter-data.json"'
    data = json.loads(response.content)
    assert data["email"] == "ada@example.com"
    assert data["status"] == "confirmed"
    assert data["everything"] is False
    assert data["series"] == [{"title": "Proofs", "slug": "proofs"}]
    assert data["tags"] == [{"name": "Python", "slug": "python"}]
    assert data["confirmed_at"] is not None and data["created_at"] is not None
    assert data["unsubscribed_at"] is None
    assert data["consent"] == {
        "consent_at": data["consent"]["consent_at"],
        "consent_page": "/posts/proofs/",
        "consent_wording": "Tell me when the next part ships",
        "consent_source": "imported from Ghost",
    }
    (delivery,) = data["deliveries"]
    assert delivery["subject"] == "Part two"
    assert delivery["post_url"] == "https://blog.example/posts/two/"
    assert delivery["status"] == "sent"
    assert delivery["event"] == "delivered"
    assert delivery["sent_at"].startswith(sent_at.isoformat()[:19])


def test_data_download_takes_four_queries(client, ada, django_assert_num_queries):
    path = data_path(ada)
    # The subscriber, their series, their tags, their deliveries with the issues.
    with django_assert_num_queries(4):
        assert client.get(path).status_code == 200


def test_manage_page_links_to_the_data_download(client, ada):
    assert f'href="{data_path(ada)}"' in client.get(manage_path(ada)).content.decode()


def test_erasing_deletes_the_row_and_its_deliveries_and_keeps_a_suppression(client, ada):
    issue = NewsletterIssue.objects.create(
        subject="One", post_url="https://blog.example/", html_body="", text_body=""
    )
    Delivery.objects.create(issue=issue, subscriber=ada)
    response = client.post(manage_path(ada), {"action": "erase", "understood": "on"})
    assert response.status_code == 200
    assert "You are erased" in response.content.decode()
    assert not Subscriber.objects.exists()
    assert not Delivery.objects.exists()
    assert Suppression.objects.matching("ADA@example.com").exists()
    assert "ada@example.com" not in str(list(Suppression.objects.values()))


def test_old_links_are_400_after_erasing(client, ada):
    manage, data = manage_path(ada), data_path(ada)
    unsubscribe = reverse("newsletter:unsubscribe", args=[make_unsubscribe_token(ada)])
    client.post(manage, {"action": "erase", "understood": "on"})
    for path in [manage, data, unsubscribe]:
        response = client.get(path)
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()


def test_erasing_without_ticking_the_box_is_400_and_keeps_everything(client, ada):
    response = client.post(manage_path(ada), {"action": "erase"})
    assert response.status_code == 400
    assert "Tick the box to erase your data." in response.content.decode()
    assert Subscriber.objects.filter(pk=ada.pk).exists()
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("route", ["newsletter:manage", "newsletter:manage_data"])
def test_tampered_manage_link_is_400(client, ada, route):
    token = make_manage_token(ada)
    response = client.get(reverse(route, args=[token[:-1] + ("A" if token[-1] != "A" else "B")]))
    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()


def test_an_unsubscribe_token_is_no_manage_link(client, ada):
    response = client.get(reverse("newsletter:manage", args=[make_unsubscribe_token(ada)]))
    assert response.status_code == 400


def test_post_to_a_tampered_manage_link_changes_nothing(client, ada):
    path = reverse("newsletter:manage", args=[make_manage_token(ada) + "x"])
    assert client.post(path, {"action": "unsubscribe"}).status_code == 400
    assert reloaded(ada).status == CONFIRMED


@pytest.mark.parametrize(
    "data", [{"action": "unsubscribe"}, {"action": "erase", "understood": "on"}]
)
def test_manage_posts_need_the_csrf_token(ada, data):
    csrf_client = Client(enforce_csrf_checks=True)
    assert csrf_client.post(manage_path(ada), data).status_code == 403
    assert reloaded(ada).status == CONFIRMED


def test_manage_forms_carry_the_csrf_token_and_work_with_it(ada):
    csrf_client = Client(enforce_csrf_checks=True)
    content = csrf_client.get(manage_path(ada)).content.decode()
    assert content.count('name="csrfmiddlewaretoken"') == 3
    token = csrf_client.cookies["csrftoken"].value
    data = {"action": "unsubscribe", "csrfmiddlewaretoken": token}
    assert csrf_client.post(manage_path(ada), data).status_code == 303
    assert reloaded(ada).status == UNSUBSCRIBED


def test_confirmed_page_links_to_the_manage_page(client, make_subscriber, run_tasks, link_in):
    client.post(reverse("newsletter:subscribe"), {"email": "ada@example.com"})
    run_tasks()
    confirm = link_in(mail.outbox[-1], "confirm")
    client.post(confirm)
    ada = Subscriber.objects.get()
    assert f'href="{manage_path(ada)}"' in client.get(confirm).content.decode()


@pytest.mark.parametrize("status", [CONFIRMED, UNSUBSCRIBED])
def test_unsubscribe_page_links_to_the_manage_page(client, make_subscriber, status):
    ada = make_subscriber("ada@example.com", status=status)
    path = reverse("newsletter:unsubscribe", args=[make_unsubscribe_token(ada)])
    assert f'href="{manage_path(ada)}"' in client.get(path).content.decode()


SCROLLS_SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth"


def tab_to(page, selector):
    """Press Tab until `selector` has the focus, as someone with only a keyboard would."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"{selector} has the focus but does not show it"
            return
    raise AssertionError(f"Tab never reaches {selector}")


@pytest.fixture
def narrow_browser(live_server):
    with launched_chromium() as browser:

        def narrow_page(color_scheme):
            context = browser.new_context(
                java_script_enabled=False,
                base_url=live_server.url,
                viewport={"width": 320, "height": 640},
                color_scheme=color_scheme,
            )
            return context.new_page()

        yield narrow_page


@needs_chromium
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_manage_page_fits_a_phone_and_works_by_keyboard_without_javascript(
    narrow_browser, make_subscriber, topics, color_scheme
):
    ada = make_subscriber("a.rather.long.address@mail.example-company.com")
    page = narrow_browser(color_scheme)
    page.goto(manage_path(ada))
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    tab_to(page, 'input[name="get"]')
    page.keyboard.press("ArrowDown")
    tab_to(page, f'input[name="series"][value="{topics["queues"].pk}"]')
    page.keyboard.press("Space")
    tab_to(page, ".manage-choices button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_text("Saved: you get the series “Queues”.").is_visible()
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    assert list(reloaded(ada).series.all()) == [topics["queues"]]
    tab_to(page, 'input[name="understood"]')
    page.keyboard.press("Space")
    tab_to(page, ".button-danger")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name="You are erased").is_visible()
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    assert not Subscriber.objects.exists()
