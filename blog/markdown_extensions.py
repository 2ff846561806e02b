"""What this site adds to Python-Markdown and pymdown-extensions: the options a code fence may
carry, callouts kept to the kinds the stylesheet knows, and table alignment as classes."""

import re
import xml.etree.ElementTree as etree

from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

# A number of up to six digits: beyond any code block, and far below the length at which Python
# refuses to read a string as an integer.
_NUMBER = r"\d{1,6}"
FENCE_OPTIONS = {
    "title": re.compile(r"[^\x00-\x1f\x7f]{1,200}"),
    "hl_lines": re.compile(rf"{_NUMBER}(?:-{_NUMBER})?(?:[ \t]+{_NUMBER}(?:-{_NUMBER})?)*"),
    # First number, and optionally a step and a line to mark: pymdownx's own syntax.
    "linenums": re.compile(rf"{_NUMBER}(?:[ \t]+{_NUMBER}){{0,2}}"),
}

# The callouts the stylesheet colours, and the other names authors may know them by.
CALLOUT_KINDS = {
    **dict.fromkeys(["note", "info", "important", "abstract", "summary", "todo"], "note"),
    **dict.fromkeys(["tip", "hint", "success", "check", "done"], "tip"),
    **dict.fromkeys(
        ["warning", "caution", "attention", "danger", "error", "bug", "failure"], "warning"
    ),
}


def fence_options(language, inputs, options, attrs, md):
    """SuperFences validator: keep the options the site supports when their values are sane,
    and drop everything else. Nothing goes to `attrs`, so a fence with an unknown or malformed
    option is still a code block, and no option reaches the HTML as an attribute. Leaving out
    pymdownx's `title_mode` keeps titles text: its "html" mode would pass the title on as HTML."""
    # Lets SuperFences read the Highlight extension's settings, as its own validators do.
    md.preprocessors["fenced_code_block"].get_hl_settings()
    for name, value in inputs.items():
        pattern = FENCE_OPTIONS.get(name)
        if pattern is not None and isinstance(value, str) and pattern.fullmatch(value.strip()):
            options[name] = value.strip()
    return True


def highlighted_fence(src, language, class_name, options, md, **kwargs):
    """SuperFences formatter: the code highlighted as SuperFences highlights its default fences
    (Highlight's settings, `hl_lines`, `linenums`, `title`)."""
    return md.preprocessors["fenced_code_block"].highlight(
        src=src, language=language, options=options, md=md, **kwargs
    )


# Replaces SuperFences' default fence ("*": every language) with one that runs fence_options.
CODE_FENCE = {
    "name": "*",
    "class": "highlight",
    "validator": fence_options,
    "format": highlighted_fence,
}


class PostTreeprocessor(Treeprocessor):
    """Runs before inline Markdown, so a callout's title is kept as text."""

    def run(self, root):
        for element in root.iter():
            if element.tag == "div" and element.get("class", "").startswith("admonition"):
                self.tidy_callout(element)
            elif element.tag in ("th", "td") and element.get("align"):
                # Python-Markdown's tables write `align`, obsolete in HTML; the stylesheet
                # aligns these classes instead.
                element.set("class", f"align-{element.attrib.pop('align')}")

    def tidy_callout(self, callout):
        words = callout.get("class").split()
        if words[0] != "admonition":
            return
        word = words[1] if len(words) > 1 else "note"
        kind = CALLOUT_KINDS.get(word, "note")
        callout.set("class", f"admonition {kind}")
        title = callout.find("p")
        if title is None or title.get("class") != "admonition-title":
            # `!!! note ""` asks for no title; the title is what tells the kinds apart
            # without colour, so it stays.
            title = etree.Element("p", {"class": "admonition-title"})
            callout.insert(0, title)
            title.text = (word if word in CALLOUT_KINDS else kind).capitalize()
        title.text = AtomicString(title.text or "")


class PostExtension(Extension):
    def extendMarkdown(self, md):
        md.treeprocessors.register(PostTreeprocessor(md), "post", 30)
