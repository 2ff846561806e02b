"""Every public page and every admin page this project adds, in a real Chromium: axe at a phone's
and a desktop's width in light and dark, no sideways scrolling at 320 px, and no console error,
failed request or Content-Security-Policy violation anywhere."""

import pytest

from tests.chromium import needs_chromium
from tests.e2e.pages import (
    DESKTOP,
    NARROWEST,
    NOT_OURS,
    PHONE,
    SCROLLS_SIDEWAYS,
    Watched,
    admin_pages,
    axe_results,
    describe,
    is_serious,
    public_pages,
)

pytestmark = needs_chromium


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_no_serious_accessibility_violations_on_any_page(site, browser, viewport, color_scheme):
    # axe sets styles inline as it checks contrast, which the CSP would refuse; the CSP has its
    # own test below.
    options = {"viewport": viewport, "color_scheme": color_scheme, "bypass_csp": True}
    reader = Watched(browser, site, **options)
    author = Watched(browser, site, signed_in=True, **options)
    serious, minor = [], []
    try:
        pages = [(name, path, "html", reader) for name, path in public_pages(site).items()]
        pages += [(name, path, scope, author) for name, (path, scope) in admin_pages().items()]
        for name, path, scope, watched in pages:
            watched.goto(path)
            for violation in axe_results(watched.page, scope, exclude=NOT_OURS):
                found = serious if is_serious(violation) else minor
                found.append(f"{name} ({path}): {describe(violation)}")
    finally:
        reader.close()
        author.close()
    case = f"{viewport['width']} px, {color_scheme}"
    for line in minor:
        print(f"axe, minor or moderate, {case}: {line}")
    assert not serious, f"serious or critical axe violations at {case}:\n" + "\n".join(serious)


@pytest.mark.parametrize("viewport", [NARROWEST, DESKTOP], ids=["320px", "1280px"])
def test_pages_fit_the_width_and_load_without_errors_or_csp_violations(site, browser, viewport):
    reader = Watched(browser, site, viewport=viewport)
    author = Watched(browser, site, signed_in=True, viewport=viewport)
    found = []
    try:
        for name, path in public_pages(site).items():
            reader.goto(path)
            found += [f"{name} ({path}): {problem}" for problem in reader.take_problems()]
            if reader.page.evaluate(SCROLLS_SIDEWAYS):
                width = reader.page.evaluate("document.documentElement.scrollWidth")
                found.append(f"{name} ({path}): scrolls sideways, {width} px wide")
        for name, (path, _) in admin_pages().items():
            author.goto(path)
            found += [f"{name} ({path}): {problem}" for problem in author.take_problems()]
    finally:
        reader.close()
        author.close()
    assert not found, f"at {viewport['width']} px:\n" + "\n".join(found)
