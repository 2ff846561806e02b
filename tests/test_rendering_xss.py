"""XSS corpus for ``blog.rendering.render_markdown``.

Every vector is rendered and the output is checked by a small, independent
checker built only on the stdlib ``html.parser.HTMLParser``: every start tag and
attribute must be on the allow-list in ``blog.rendering`` (or be one the renderer
adds after sanitizing, with the values it writes), no event handlers or other
dangerous attributes may survive, and every ``href``/``src`` must be relative, a
fragment, or use http:, https: or mailto:.
"""

import html
import re
from html.parser import HTMLParser

import pytest

from blog.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown

# --------------------------------------------------------------------------- #
# The safety checker
# --------------------------------------------------------------------------- #

FORBIDDEN_ATTRIBUTES = frozenset({"style", "srcdoc", "formaction", "xlink:href"})
URL_ATTRIBUTES = frozenset({"href", "src"})
SAFE_SCHEMES = ("http:", "https:", "mailto:")
FORBIDDEN_RAW_SUBSTRINGS = (
    "<script",
    "<iframe",
    "<svg",
    "<math",
    "<style",
    "<object",
    "<embed",
    "<form",
    "<base",
    "<meta",
    "<link",
)

# What the renderer adds after sanitizing, so that code blocks and table boxes can be scrolled by
# keyboard: only these values (None: any text, a name for screen readers).
ADDED_AFTER_SANITIZING = {
    ("pre", "tabindex"): {"0"},
    ("pre", "role"): {"group"},
    ("pre", "aria-label"): None,
    ("div", "tabindex"): {"0"},
    ("div", "role"): {"region"},
    ("div", "aria-label"): None,
}
LINE_NUMBER_VALUE = re.compile(r" *\d+ *")

# RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.\-]*:")


def _normalize_url(value: str) -> str:
    """Unescape HTML entities, drop whitespace and control chars, lowercase.

    ``HTMLParser`` has already run ``html.unescape`` over the attribute value
    once, exactly as a browser decodes character references in an attribute;
    unescaping a second time would turn safe, literally escaped text such as
    ``&amp;#106;avascript:`` into a false alarm, so it is done only once there.
    """
    return "".join(ch for ch in value if ord(ch) >= 33 and not ch.isspace()).lower()


def _url_is_safe(value: str) -> bool:
    normalized = _normalize_url(value)
    if not _SCHEME_RE.match(normalized):
        # No scheme: relative path, "/...", "#fragment", "?query", "//host" or empty.
        return True
    return normalized.startswith(SAFE_SCHEMES)


class _SafetyChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.start_tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.start_tags.append((tag, dict(attrs)))
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"disallowed tag <{tag}>")
        allowed_attrs = ALLOWED_ATTRIBUTES.get(tag, [])
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}= on <{tag}>")
            if name in FORBIDDEN_ATTRIBUTES:
                self.problems.append(f"forbidden attribute {name}= on <{tag}>")
            if (tag, name) in ADDED_AFTER_SANITIZING:
                values = ADDED_AFTER_SANITIZING[tag, name]
                if values is not None and value not in values:
                    self.problems.append(f"{name}={value!r} on <{tag}> is not what we add")
            elif name not in allowed_attrs:
                self.problems.append(f"attribute {name}= not allowed on <{tag}>")
            if name == "data-linenos" and not LINE_NUMBER_VALUE.fullmatch(value or ""):
                self.problems.append(f"data-linenos={value!r} is not a line number")
            if name in URL_ATTRIBUTES and not _url_is_safe(value or ""):
                self.problems.append(f"unsafe URL {name}={value!r} on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"disallowed end tag </{tag}>")

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"comment survived: <!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"declaration survived: <!{decl}>")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"marked section survived: <![{data}]>")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction survived: <?{data}>")


def find_xss_problems(output: str) -> list[str]:
    """Return a list of reasons ``output`` is unsafe; empty means safe."""
    checker = _SafetyChecker()
    checker.feed(output)
    checker.close()
    problems = list(checker.problems)
    lowered = output.lower()
    for needle in FORBIDDEN_RAW_SUBSTRINGS:
        if needle in lowered:
            problems.append(f"raw {needle!r} in output")
    return problems


def assert_safe(output: str) -> None:
    problems = find_xss_problems(output)
    assert not problems, f"unsafe output {output!r}: {problems}"


# --------------------------------------------------------------------------- #
# The corpus
# --------------------------------------------------------------------------- #

_SVG_B64 = "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIG9ubG9hZD0iYWxlcnQoMSkiLz4="
_HTML_B64 = "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="

_CASES: list[tuple[str, str]] = [
    # ---- raw HTML: dangerous elements -------------------------------------
    ("script", "<script>alert(1)</script>"),
    ("script-inline", "Hello <script>alert(1)</script> world"),
    ("script-src", '<script src="https://evil.example/x.js"></script>'),
    ("script-upper", "<SCRIPT>alert(1)</SCRIPT>"),
    ("script-split", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    ("script-unclosed", "<script>alert(1)"),
    ("script-in-p", "<p><script>alert(1)</script></p>"),
    ("style-tag", '<style>body{background:url("javascript:alert(1)")}</style>'),
    ("style-import", "<style>@import 'https://evil.example/x.css';</style>"),
    ("iframe-js", '<iframe src="javascript:alert(1)"></iframe>'),
    ("iframe-srcdoc", '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>'),
    ("object-data", '<object data="javascript:alert(1)"></object>'),
    ("embed-data", f'<embed src="data:text/html;base64,{_HTML_B64}">'),
    ("svg-onload", "<svg onload=alert(1)>"),
    ("svg-script", "<svg><script>alert(1)</script></svg>"),
    (
        "svg-xlink-href",
        '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>',
    ),
    ("svg-animate", "<svg><animate onbegin=alert(1) attributeName=x dur=1s>"),
    (
        "svg-set-href",
        '<svg><a><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a></svg>',
    ),
    (
        "math-xlink",
        '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">'
        "x</maction></math>",
    ),
    ("math-href", '<math href="javascript:alert(1)"><mi>x</mi></math>'),
    ("form-action", '<form action="javascript:alert(1)"><button>x</button></form>'),
    ("button-formaction", '<button formaction="javascript:alert(1)">x</button>'),
    ("input-formaction", "<form><input type=submit formaction=javascript:alert(1)></form>"),
    ("base-href", '<base href="javascript:alert(1)//">'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("link-stylesheet", '<link rel="stylesheet" href="javascript:alert(1)">'),
    ("link-import", '<link rel=import href="data:text/html,<script>alert(1)</script>">'),
    ("body-onload", "<body onload=alert(1)>"),
    ("video-source", '<video><source onerror="alert(1)"></video>'),
    ("details-ontoggle", "<details open ontoggle=alert(1)><summary>x</summary></details>"),
    ("input-autofocus", "<input autofocus onfocus=alert(1)>"),
    # ---- event handlers on allowed tags -----------------------------------
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("img-onerror-quoted", '<img src="x" onerror="alert(1)">'),
    ("img-onload", '<img src="https://example.com/a.png" onload="alert(1)">'),
    ("img-onerror-upper", "<IMG SRC=x ONERROR=alert(1)>"),
    ("img-slash-sep", "<img/src=x/onerror=alert(1)>"),
    ("img-newline-sep", "<img src=x\nonerror=alert(1)>"),
    ("img-unclosed", "<img src=x onerror=alert(1)//"),
    ("img-unclosed-eol", "text <img src=x onerror=alert(1)"),
    ("img-malformed-quotes", '<img src="x" onerror=\'alert(1)\'"">'),
    ("img-quote-in-name", '<img src="x" "onerror="alert(1)">'),
    ("img-backtick", "<img src=`x` onerror=alert(1)>"),
    ("img-double-open", "<<img src=x onerror=alert(1)>>"),
    ("a-onmouseover", '<a href="https://example.com" onmouseover="alert(1)">x</a>'),
    ("a-onclick", '<a onclick="alert(1)">click</a>'),
    ("p-onclick", '<p onclick="alert(1)">x</p>'),
    ("div-onmouseover", '<div onmouseover="alert(1)">hover</div>'),
    ("h1-autofocus-onfocus", "<h1 tabindex=1 autofocus onfocus=alert(1)>x</h1>"),
    ("span-onpointerenter", '<span class="x" onpointerenter="alert(1)">x</span>'),
    ("sup-onanimationstart", "<sup onanimationstart=alert(1)>1</sup>"),
    ("td-onmouseover", "<table><tr><td onmouseover=alert(1)>x</td></tr></table>"),
    # ---- style attributes --------------------------------------------------
    ("style-expression", '<p style="width: expression(alert(1))">x</p>'),
    ("style-url-js", '<div style="background-image: url(javascript:alert(1))">x</div>'),
    ("style-behavior", '<span style="behavior: url(xss.htc)">x</span>'),
    ("style-moz-binding", '<a href="/" style="-moz-binding: url(https://evil.example/x)">x</a>'),
    # ---- Markdown inline links --------------------------------------------
    ("md-link-js", "[x](javascript:alert(1))"),
    ("md-link-js-mixed-case", "[x](JaVaScRiPt:alert(1))"),
    ("md-link-vbscript", "[x](vbscript:msgbox(1))"),
    ("md-link-vbscript-upper", "[x](VBSCRIPT:msgbox(1))"),
    ("md-link-data-html", f"[x](data:text/html;base64,{_HTML_B64})"),
    ("md-link-data-svg", f"[x](data:image/svg+xml;base64,{_SVG_B64})"),
    ("md-link-leading-space", "[x](   javascript:alert(1))"),
    ("md-link-leading-tab", "[x](\tjavascript:alert(1))"),
    ("md-link-leading-newline", "[x](\njavascript:alert(1))"),
    ("md-link-tab-inside", "[x](java\tscript:alert(1))"),
    ("md-link-newline-inside", "[x](java\nscript:alert(1))"),
    ("md-link-ctrl-leading", "[x](\x01\x02javascript:alert(1))"),
    ("md-link-ctrl-inside", "[x](java\x00script:alert(1))"),
    ("md-link-ent-dec", "[x](&#106;avascript:alert(1))"),
    ("md-link-ent-hex", "[x](&#x6A;avascript:alert(1))"),
    ("md-link-ent-padded", "[x](&#0000106avascript:alert(1))"),
    ("md-link-ent-padded-semi", "[x](&#0000106;&#0000097;vascript:alert(1))"),
    (
        "md-link-ent-full",
        "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    ),
    ("md-link-ent-colon", "[x](javascript&colon;alert(1))"),
    ("md-link-ent-tab", "[x](java&Tab;script:alert(1))"),
    ("md-link-ent-newline", "[x](java&NewLine;script:alert(1))"),
    ("md-link-percent", "[x](%6Aavascript:alert(1))"),
    ("md-link-percent-colon", "[x](javascript%3Aalert(1))"),
    ("md-link-angle", "[x](<javascript:alert(1)>)"),
    ("md-link-js-with-title", '[x](javascript:alert(1) "title")'),
    ("md-link-escaped-parens", r"[x](javascript:alert\(1\))"),
    ("md-link-nested", "[[x](javascript:alert(1))](https://example.com)"),
    ("md-link-html-text", "[<img src=x onerror=alert(1)>](https://example.com)"),
    ("md-link-title-dq-breakout", '[x](https://example.com "a" onmouseover="alert(1)")'),
    ("md-link-title-escaped-dq", r'[x](https://example.com "a\" onmouseover=\"alert(1)")'),
    ("md-link-title-sq-breakout", "[x](https://example.com 'a' onmouseover='alert(1)')"),
    ("md-link-title-tag-breakout", '[x](https://example.com "\\"><script>alert(1)</script>")'),
    ("md-link-url-dq-breakout", '[x](https://example.com/"onmouseover="alert(1))'),
    ("md-link-url-tag-breakout", '[x](https://example.com/"><script>alert(1)</script>)'),
    # ---- Markdown images ---------------------------------------------------
    ("md-img-js", "![x](javascript:alert(1))"),
    ("md-img-js-mixed-case", "![x](jAvAsCrIpT:alert(1))"),
    ("md-img-vbscript", "![x](vbscript:msgbox(1))"),
    ("md-img-data-svg", f"![x](data:image/svg+xml;base64,{_SVG_B64})"),
    ("md-img-data-html", f"![x](data:text/html;base64,{_HTML_B64})"),
    ("md-img-ent-hex", "![x](&#x6A;avascript:alert(1))"),
    ("md-img-leading-tab", "![x](\t\tjavascript:alert(1))"),
    ("md-img-alt-breakout", '![x" onerror="alert(1)](https://example.com/a.png)'),
    ("md-img-title-breakout", r'![x](https://example.com/a.png "y\" onerror=\"alert(1)")'),
    ("md-img-src-breakout", '![x](x"onerror="alert(1))'),
    ("md-img-in-link", "[![x](javascript:alert(1))](javascript:alert(1))"),
    # ---- reference-style links and images ---------------------------------
    ("ref-link-js", "[x][r]\n\n[r]: javascript:alert(1)"),
    ("ref-link-js-case", "[x][r]\n\n[r]: JavaScript:alert(1)"),
    ("ref-link-ent", "[x][r]\n\n[r]: &#106;avascript:alert(1)"),
    ("ref-link-ent-colon", "[x][r]\n\n[r]: javascript&colon;alert(1)"),
    ("ref-link-angle", "[x][r]\n\n[r]: <javascript:alert(1)>"),
    ("ref-link-implicit-vbs", "[r][]\n\n[r]: vbscript:msgbox(1)"),
    ("ref-link-data", f"[x][r]\n\n[r]: data:text/html;base64,{_HTML_B64}"),
    ("ref-link-title-breakout", '[x][r]\n\n[r]: https://example.com "a" onclick="alert(1)"'),
    ("ref-img-js", "![x][i]\n\n[i]: javascript:alert(1)"),
    ("ref-img-data-svg", f"![x][i]\n\n[i]: data:image/svg+xml;base64,{_SVG_B64}"),
    ("ref-img-ent-hex", "![x][i]\n\n[i]: &#x6A;avascript:alert(1)"),
    # ---- autolinks ---------------------------------------------------------
    ("autolink-js", "<javascript:alert(1)>"),
    ("autolink-js-case", "<JaVaScRiPt:alert(1)>"),
    ("autolink-vbscript", "<vbscript:msgbox(1)>"),
    ("autolink-data", "<data:text/html,<script>alert(1)</script>>"),
    ("autolink-http-breakout", '<https://example.com/"onmouseover="alert(1)>'),
    ("autolink-email-breakout", '<x@example.com"onmouseover="alert(1)>'),
    # ---- attribute-list style injections (attr_list is not enabled) ------
    ("attrlist-heading", '# Heading {: onclick="alert(1)" }'),
    ("attrlist-paragraph", 'Paragraph\n{: onclick="alert(1)" style="x:expression(alert(1))" }'),
    ("attrlist-link", '[x](https://example.com){: onclick="alert(1)" }'),
    ("attrlist-at-paragraph", "Paragraph {@onclick=alert(1)}"),
    ("attrlist-at-link", "[x](https://example.com){@onmouseover=alert(1)}"),
    ("attrlist-href", "[x](https://example.com){: href=javascript:alert(1) }"),
    # ---- comments, CDATA, conditional comments, PIs -----------------------
    ("comment-script", "<!-- <script>alert(1)</script> -->"),
    ("comment-short-close", "<!--><img src=x onerror=alert(1)>-->"),
    ("comment-bang-close", "<!-- --!><img src=x onerror=alert(1)> -->"),
    ("comment-inline", "text <!-- x --><img src=x onerror=alert(1)><!-- y -->"),
    ("cdata", "<![CDATA[<script>alert(1)</script>]]>"),
    ("cdata-svg", "<svg><![CDATA[</svg><img src=x onerror=alert(1)>]]></svg>"),
    ("cond-comment", "<!--[if IE]><script>alert(1)</script><![endif]-->"),
    ("cond-revealed", "<![if !IE]><script>alert(1)</script><![endif]>"),
    ("processing-instr", '<?xml-stylesheet href="javascript:alert(1)"?>'),
    ("doctype", "<!DOCTYPE html><script>alert(1)</script>"),
    # ---- raw <a>/<img> with obfuscated URLs --------------------------------
    ("raw-a-js", '<a href="javascript:alert(1)">x</a>'),
    ("raw-a-js-unquoted", "<a href=javascript:alert(1)>x</a>"),
    ("raw-a-colon-entity", '<a href="javascript&colon;alert(1)">x</a>'),
    (
        "raw-a-ent-dec",
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    ),
    (
        "raw-a-ent-hex-nosemi",
        '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)">x</a>',
    ),
    (
        "raw-a-ent-padded",
        '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099'
        '&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
    ),
    ("raw-a-ent-padded-one", '<a href="&#0000106avascript:alert(1)">x</a>'),
    ("raw-a-tab-entity", '<a href="jav&Tab;ascript:alert(1)">x</a>'),
    ("raw-a-newline-entity", '<a href="jav&#x0A;ascript:alert(1)">x</a>'),
    ("raw-a-tab-literal", '<a href="jav\tascript:alert(1)">x</a>'),
    ("raw-a-ctrl-leading", '<a href="\x01\x02 javascript:alert(1)">x</a>'),
    ("raw-a-vbscript", '<a href="VBScript:msgbox(1)">x</a>'),
    ("raw-a-data-html", f'<a href="data:text/html;base64,{_HTML_B64}">x</a>'),
    ("raw-a-unclosed", '<a href="javascript:alert(1)">x'),
    ("raw-a-xlink", '<a xlink:href="javascript:alert(1)">x</a>'),
    ("raw-a-formaction", '<a formaction="javascript:alert(1)">x</a>'),
    ("raw-img-js", '<img src="javascript:alert(1)">'),
    ("raw-img-data-svg", f'<img src="data:image/svg+xml;base64,{_SVG_B64}">'),
    ("raw-div-srcdoc", '<div srcdoc="<script>alert(1)</script>">x</div>'),
    ("raw-a-title-lt", '<a title="><script>alert(1)</script>" href="https://example.com">x</a>'),
    ("raw-md-in-html", '<div markdown="1">[x](javascript:alert(1))</div>'),
    # ---- mutation-XSS tricks ----------------------------------------------
    ("noscript-mxss", '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>'),
    ("template-img", "<template><img src=x onerror=alert(1)></template>"),
    ("template-script", "<template><script>alert(1)</script></template>"),
    ("textarea-img", "<textarea><img src=x onerror=alert(1)></textarea>"),
    ("textarea-breakout", "<textarea></textarea><script>alert(1)</script>"),
    ("title-mxss", "<title></title><img src=x onerror=alert(1)></title>"),
    ("noembed-mxss", '<noembed><img title="</noembed><img src=x onerror=alert(1)>"></noembed>'),
    ("xmp-mxss", '<xmp><img title="</xmp><img src=x onerror=alert(1)>"></xmp>'),
    ("svg-style-mxss", "<svg><style><img src=x onerror=alert(1)></style></svg>"),
    ("math-mglyph-mxss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    ("select-template", "<select><template><style><img src=x onerror=alert(1)>"),
    ("plaintext", "<plaintext><script>alert(1)</script>"),
    # ---- code blocks -------------------------------------------------------
    ("fence-breakout", "```\n</code></pre><script>alert(1)</script>\n```"),
    ("fence-breakout-img", "```\n</code></pre><img src=x onerror=alert(1)>\n```"),
    ("fence-lang-breakout", '```python" onclick="alert(1)\nprint(1)\n```'),
    ("fence-lang-tag", '```"><script>alert(1)</script>\nx\n```'),
    ("fence-tilde-breakout", "~~~html\n</code></pre><script>alert(1)</script>\n~~~"),
    ("indented-code-breakout", "    </code></pre><img src=x onerror=alert(1)>"),
    ("inline-code-breakout", "`</code><script>alert(1)</script>`"),
    # ---- code fence options: titles are text, options never attributes ---
    ("fence-title-script", '```python title="<script>alert(1)</script>"\nx = 1\n```'),
    ("fence-title-img", '```python title="<img src=x onerror=alert(1)>"\nx = 1\n```'),
    ("fence-title-attr-breakout", '```python title="a" onmouseover="alert(1)"\nx = 1\n```'),
    ("fence-title-sq-holding-dq", "```python title='a\" onclick=\"alert(1)'\nx = 1\n```"),
    ("fence-title-escaped-dq", '```python title="a\\" onfocus=\\"alert(1)"\nx = 1\n```'),
    ("fence-title-gt-breakout", '```python title=""><script>alert(1)</script>"\nx\n```'),
    (
        "fence-title-mode-html",
        '```python title="<a href=\'javascript:alert(1)\'>x</a>" title_mode="html"\nx\n```',
    ),
    ("fence-title-newline-entity", '```python title="&#10;<script>alert(1)</script>"\nx\n```'),
    ("fence-hl-lines-garbage", '```python hl_lines="1-x onmouseover=alert(1)"\nx\n```'),
    ("fence-hl-lines-huge", f'```python hl_lines="{"9" * 5000}"\nx\n```'),
    ("fence-hl-lines-range-huge", '```python hl_lines="1-999999"\nx\n```'),
    ("fence-linenums-huge", f'```python linenums="{"9" * 5000}"\nx\n```'),
    ("fence-linenums-garbage", '```python linenums="1 onfocus=alert(1)"\nx\n```'),
    ("fence-data-attribute", '```python data-x="y" onclick="alert(1)" id="z"\nx\n```'),
    ("fence-braces-attributes", '```{.python #top onclick="alert(1)" title="t"}\nx\n```'),
    ("fence-unknown-language", '```no-such-language title="<b>t</b>"\n<b>x</b>\n```'),
    ("fence-diff-html", "```diff\n-<script>alert(1)</script>\n+<img src=x onerror=alert(1)>\n```"),
    # ---- callouts ------------------------------------------------------------
    ("callout-title-script", '!!! note "<script>alert(1)</script>"\n    Body.'),
    ("callout-title-img", '!!! warning "<img src=x onerror=alert(1)>"\n    Body.'),
    ("callout-title-link-js", '!!! tip "[x](javascript:alert(1))"\n    Body.'),
    ("callout-title-quote", '!!! tip "a\\" onmouseover=\\"alert(1)"\n    Body.'),
    ("callout-kind-words", '!!! note onmouseover style "x"\n    Body.'),
    ("callout-body-html", "!!! note\n    <script>alert(1)</script> [x](javascript:alert(1))"),
    # ---- what the renderer adds after sanitizing, tried by the author --------
    ("raw-pre-focus", '<pre tabindex="5" role="button" aria-label="x" onfocus="alert(1)">x</pre>'),
    ("raw-div-region", '<div class="table-scroll" role="button" tabindex="-1">x</div>'),
    ("raw-span-linenos-text", '<span class="linenos" data-linenos="click here">x</span>'),
    ("raw-title-bar-quote", '<span class="filename">" onfocus="alert(1)</span><pre>x</pre>'),
    ("raw-td-align", '<table><tr><td align="right" style="x">x</td></tr></table>'),
    # ---- footnotes ---------------------------------------------------------
    (
        "footnote-label-quote",
        'Text[^a"onmouseover="alert(1)]\n\n[^a"onmouseover="alert(1)]: note',
    ),
    ("footnote-label-sq", "Text[^a'onclick='alert(1)]\n\n[^a'onclick='alert(1)]: note"),
    (
        "footnote-label-html",
        "Text[^<img src=x onerror=alert(1)>]\n\n[^<img src=x onerror=alert(1)>]: note",
    ),
    ("footnote-label-script", "Text[^<script>]\n\n[^<script>]: note"),
    (
        "footnote-body-html",
        "Text[^1]\n\n[^1]: <script>alert(1)</script> and [x](javascript:alert(1))",
    ),
    # ---- headings and the toc ----------------------------------------------
    ("heading-img-toc", "[TOC]\n\n# <img src=x onerror=alert(1)> heading"),
    ("heading-script-toc", "[TOC]\n\n## <script>alert(1)</script>"),
    ("heading-quote-toc", '[TOC]\n\n# a" onmouseover="alert(1)'),
    ("heading-link-js-toc", "[TOC]\n\n# [x](javascript:alert(1))"),
    ("heading-setext-html", '<b onclick="alert(1)">x</b>\n========'),
    # ---- tables ------------------------------------------------------------
    (
        "table-cell-html",
        "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | <script>alert(1)</script> |",
    ),
    ("table-cell-link", "| a |\n|---|\n| [x](javascript:alert(1)) |"),
    ("table-header-html", '| <a href="javascript:alert(1)">h</a> |\n|:---:|\n| x |'),
]

XSS_VECTORS = [vector for _, vector in _CASES]
XSS_IDS = [case_id for case_id, _ in _CASES]


def test_corpus_is_large_and_ids_are_unique():
    assert len(XSS_VECTORS) >= 60
    assert len(set(XSS_IDS)) == len(XSS_IDS)


@pytest.mark.parametrize("vector", XSS_VECTORS, ids=XSS_IDS)
def test_vector_is_safe_after_render(vector):
    assert_safe(render_markdown(vector))


# --------------------------------------------------------------------------- #
# The checker itself must catch known-bad HTML
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "bad_html",
    [
        '<a href="javascript:alert(1)">x</a>',
        "<img src=x onerror=alert(1)>",
        '<a href="&#106;avascript:alert(1)">x</a>',
        '<a href="java&Tab;script:alert(1)">x</a>',
        '<a href=" \x01JaVaScRiPt:alert(1)">x</a>',
        f'<img src="data:image/svg+xml;base64,{_SVG_B64}">',
        '<p style="x:expression(alert(1))">x</p>',
        '<div srcdoc="x">x</div>',
        '<a xlink:href="https://example.com">x</a>',
        '<a formaction="https://example.com">x</a>',
        '<p title="x">not allowed on p</p>',
        "<script>alert(1)</script>",
        "<svg/onload=alert(1)>",
        "<p>x</p><!-- comment -->",
        '<pre tabindex="5">x</pre>',
        '<div role="button">x</div>',
        '<span data-linenos="click here"></span>',
        '<td align="right">x</td>',
    ],
    ids=[
        "a-js",
        "img-onerror",
        "a-ent-js",
        "a-tab-ent-js",
        "a-ctrl-case-js",
        "img-data-svg",
        "style",
        "srcdoc",
        "xlink-href",
        "formaction",
        "attr-not-allowed",
        "script",
        "svg",
        "comment",
        "pre-tabindex",
        "div-role",
        "linenos-text",
        "td-align",
    ],
)
def test_checker_rejects_known_bad_html(bad_html):
    assert find_xss_problems(bad_html)


def test_checker_accepts_known_good_html():
    good = (
        '<p><a href="https://example.com/" title="t">x</a> '
        '<a href="/posts/x/">y</a> <a href="#fn:1">z</a> '
        '<a href="mailto:a@example.com">m</a> '
        '<img alt="a" src="https://example.com/a.png"> &lt;script&gt;</p>'
    )
    assert find_xss_problems(good) == []


# --------------------------------------------------------------------------- #
# Positive tests: the sanitizer keeps legitimate content
# --------------------------------------------------------------------------- #


def _tags(output: str, name: str) -> list[dict[str, str | None]]:
    """The attributes of every ``<name>`` start tag in ``output``."""
    parser = _SafetyChecker()
    parser.feed(output)
    parser.close()
    return [attrs for tag, attrs in parser.start_tags if tag == name]


@pytest.mark.parametrize(
    "href",
    ["https://example.com/post?a=1&b=2", "/posts/x/", "mailto:someone@example.com", "#section"],
    ids=["https", "relative", "mailto", "fragment"],
)
def test_safe_link_keeps_href(href):
    output = render_markdown(f"[link text]({href})")
    assert_safe(output)
    links = _tags(output, "a")
    assert [attrs.get("href") for attrs in links] == [href]
    assert "link text" in output


def test_https_link_keeps_title():
    output = render_markdown('[x](https://example.com/ "A title")')
    assert_safe(output)
    assert _tags(output, "a") == [{"href": "https://example.com/", "title": "A title"}]


def test_https_image_keeps_src_and_alt():
    output = render_markdown("![A cat](https://example.com/cat.png)")
    assert_safe(output)
    images = _tags(output, "img")
    assert len(images) == 1
    assert images[0]["src"] == "https://example.com/cat.png"
    assert images[0]["alt"] == "A cat"


def test_disallowed_tag_is_escaped_not_stripped():
    output = render_markdown("before <script>alert(1)</script> after")
    assert_safe(output)
    assert "&lt;script&gt;" in output
    assert "before" in output and "after" in output


def test_legitimate_markdown_features_survive():
    text = (
        "[TOC]\n\n# Heading One\n\nText[^1] with `code`.\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n"
        "```python\nprint('hi')\n```\n\n[^1]: A note."
    )
    output = render_markdown(text)
    assert_safe(output)
    assert _tags(output, "h1") == [{"id": "heading-one"}]
    assert any(attrs.get("href") == "#heading-one" for attrs in _tags(output, "a"))
    assert any(attrs.get("href") == "#fn:1" for attrs in _tags(output, "a"))
    assert _tags(output, "table")
    assert any(attrs.get("class") == "highlight" for attrs in _tags(output, "div"))


# --------------------------------------------------------------------------- #
# The new syntax: code fence options, callouts and what is added after sanitizing
# --------------------------------------------------------------------------- #


def _title_bar_texts(output: str) -> list[str]:
    return re.findall(r'<span class="filename">([^<]*)</span>', output)


@pytest.mark.parametrize(
    "title",
    ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "<b>bold</b>"],
    ids=["script", "img", "b"],
)
def test_code_title_is_text(title):
    output = render_markdown(f"```python title='{title}'\nx = 1\n```")
    assert_safe(output)
    assert [html.unescape(text) for text in _title_bar_texts(output)] == [title]
    assert [attrs["aria-label"] for attrs in _tags(output, "pre")] == [f"Code: {title}"]


def test_code_title_stays_text_when_the_author_asks_for_html():
    output = render_markdown('```python title="<b>bold</b>" title_mode="html"\nx = 1\n```')
    assert_safe(output)
    assert not _tags(output, "b")
    assert _title_bar_texts(output) == ["&lt;b&gt;bold&lt;/b&gt;"]


def test_code_title_with_quotes_stays_inside_its_attribute():
    output = render_markdown("```python title='a\" onclick=\"alert(1)'\nx = 1\n```")
    assert_safe(output)
    assert _tags(output, "pre") == [
        {"tabindex": "0", "role": "group", "aria-label": 'Code: a" onclick="alert(1)'}
    ]


@pytest.mark.parametrize(
    "options",
    [
        'hl_lines="1-x onmouseover=alert(1)"',
        f'hl_lines="{"9" * 5000}"',
        f'linenums="{"9" * 5000}"',
        'linenums="one"',
        'onclick="alert(1)" id="z"',
        'title=""',
        f'title="{"x" * 201}"',
    ],
    ids=["hl-garbage", "hl-huge", "linenums-huge", "linenums-word", "attrs", "empty", "long"],
)
def test_code_fence_with_bad_options_is_still_a_plain_code_block(options):
    output = render_markdown(f"```python {options}\nx = 1\n```")
    assert_safe(output)
    assert '<div class="highlight">' in output
    assert '<span class="n">x</span>' in output
    assert "hll" not in output and "linenos" not in output and "filename" not in output


def test_huge_but_readable_line_numbers_are_shown():
    output = render_markdown('```python linenums="999999" hl_lines="1-999999"\nx\ny\n```')
    assert_safe(output)
    numbers = re.findall(r'data-linenos="([^"]*)"', output)
    assert [number.strip() for number in numbers] == ["999999", "1000000"]
    assert output.count('<span class="hll">') == 2


def test_code_in_an_unknown_language_is_escaped_text():
    output = render_markdown("```no-such-language\n<b>x</b>\n```")
    assert_safe(output)
    assert "&lt;b&gt;x&lt;/b&gt;" in output
    assert not _tags(output, "b")


def test_author_cannot_set_what_the_renderer_adds():
    output = render_markdown(
        '<pre tabindex="5" role="button" aria-label="Press me">x</pre>\n\n'
        '<div class="table-scroll" role="button" tabindex="-1" aria-label="y">z</div>'
    )
    assert_safe(output)
    assert _tags(output, "pre") == [{"tabindex": "0", "role": "group", "aria-label": "Code"}]
    assert _tags(output, "div") == [{"class": "table-scroll"}]


def test_author_line_numbers_must_be_numbers():
    output = render_markdown(
        '<span class="linenos" data-linenos="click here">a</span> '
        '<span class="linenos" data-linenos="12 ">b</span>'
    )
    assert_safe(output)
    assert [attrs.get("data-linenos") for attrs in _tags(output, "span")] == [None, "12 "]


def test_author_table_cells_lose_align_attributes():
    output = render_markdown('<table><tr><td align="right">x</td></tr></table>')
    assert_safe(output)
    assert _tags(output, "td") == [{}]


@pytest.mark.parametrize(
    "title",
    ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<b>bold</b> *em*"],
    ids=["script", "img", "markup"],
)
def test_callout_title_is_text(title):
    output = render_markdown(f'!!! warning "{title}"\n    Body.')
    assert_safe(output)
    assert not _tags(output, "b") and not _tags(output, "em") and not _tags(output, "img")
    escaped = title.replace("<", "&lt;").replace(">", "&gt;")
    assert f'<p class="admonition-title">{escaped}</p>' in output


def test_callout_kind_words_do_not_become_classes():
    output = render_markdown('!!! warning onmouseover style "Careful"\n    Body.')
    assert_safe(output)
    assert _tags(output, "div") == [{"class": "admonition warning"}]
