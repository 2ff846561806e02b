"""Code blocks in a real Chromium: reached and scrolled by keyboard, copied without their line
numbers, by hand or with the copy button."""

import pytest

from tests.chromium import launched_chromium, needs_chromium, on_postgresql_only

pytestmark = [needs_chromium, on_postgresql_only, pytest.mark.django_db(transaction=True)]

CODE = [
    "import queue",
    "",
    "jobs = queue.Queue(maxsize=100)  # a line long enough to scroll sideways on a phone screen",
    "",
    "def submit(job):",
    "    jobs.put_nowait(job)",
]
BODY = (
    "Words first.\n\n"
    '```python title="queue.py" linenums="1" hl_lines="3"\n' + "\n".join(CODE) + "\n```\n\n"
    "More words.\n\n```\nplain\n```\n"
)
RECORD_WHAT_IS_SAID = """() => {
  window.__said = [];
  const button = document.querySelector(".code-copy");
  const status = document.querySelector("[role=status]");
  new MutationObserver(() => {
    if (status.textContent) window.__said.push([button.textContent, status.textContent]);
  }).observe(status, {childList: true, characterData: true, subtree: true});
}"""
SELECT_CODE = """(code) => {
  const range = document.createRange();
  range.selectNodeContents(code);
  getSelection().removeAllRanges();
  getSelection().addRange(range);
  return getSelection().toString();
}"""


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    yield context.new_page()
    context.close()


@pytest.fixture
def post_with_code(make_post):
    return make_post(title="Queues", slug="queues", body=BODY)


def test_copy_button_copies_the_code_without_line_numbers_and_says_so(phone, post_with_code):
    phone.goto(post_with_code.get_absolute_url())
    button = phone.get_by_role("button", name="Copy code: queue.py")
    # What the button and the status line say, however briefly they say it.
    phone.evaluate(RECORD_WHAT_IS_SAID)

    button.click()

    phone.wait_for_function("() => window.__said.length >= 1")
    assert phone.evaluate("navigator.clipboard.readText()") == "\n".join(CODE)
    assert phone.evaluate("window.__said[0]") == [
        "Copied code: queue.py",
        "Copied to the clipboard",
    ]
    # The block without a title has its own button; nothing else on the page has one.
    assert phone.get_by_role("button", name="Copy code", exact=True).is_visible()
    assert phone.locator(".code-copy").count() == 2


def test_selecting_the_code_leaves_the_line_numbers_out(phone, post_with_code):
    phone.goto(post_with_code.get_absolute_url())
    code = phone.locator(".highlight pre > code").first
    assert code.evaluate(SELECT_CODE).rstrip("\n") == "\n".join(CODE)
    assert (
        phone.locator(".linenos").first.evaluate(
            "(number) => getComputedStyle(number, '::before').content"
        )
        == '"1 "'
    )


def test_code_block_is_reached_scrolled_and_outlined_by_keyboard(phone, post_with_code):
    phone.goto(post_with_code.get_absolute_url())
    phone.get_by_role("button", name="Copy code: queue.py").focus()

    phone.keyboard.press("Tab")

    code_block = phone.get_by_role("group", name="Code: queue.py")
    assert code_block.evaluate("(pre) => pre === document.activeElement")
    assert code_block.evaluate("(pre) => getComputedStyle(pre).outlineStyle") == "solid"
    assert code_block.evaluate("(pre) => pre.scrollWidth > pre.clientWidth")
    phone.keyboard.press("ArrowRight")
    phone.wait_for_function("() => document.activeElement.scrollLeft > 0")
