from django.conf import settings


def newsletter_box(request):
    return {
        "newsletter_heading": settings.NEWSLETTER_HEADING,
        "newsletter_text": settings.NEWSLETTER_TEXT,
    }
