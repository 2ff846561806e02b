"""The Open Graph "title card": a picture of a post's title, for a post without an image.

The card is drawn with the bundled DejaVu fonts (``blog/fonts/``, license beside them) in the
site's light colours, so it looks the same on every machine whatever fonts are installed. The
same title and site name always give the same bytes, so a card can be named by its hash.
"""

import io
import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CARD_WIDTH, CARD_HEIGHT = 1200, 630

FONTS = Path(__file__).parent / "fonts"
TITLE_FONT = FONTS / "DejaVuSans-Bold.ttf"
SITE_NAME_FONT = FONTS / "DejaVuSans.ttf"

# The light scheme of static/css/site.css: --bg, --fg, --muted, --link (the accent), --border.
BACKGROUND = (0xFC, 0xFC, 0xFA)
TEXT = (0x1C, 0x1E, 0x21)
MUTED = (0x59, 0x5F, 0x69)
ACCENT = (0x0B, 0x57, 0xD0)
BORDER = (0xD9, 0xDC, 0xE1)

MARGIN = 80
ACCENT_BAR_HEIGHT = 14
TEXT_WIDTH = CARD_WIDTH - 2 * MARGIN
# The footer, as on the site: a thin rule, then the site name.
FOOTER_RULE_Y = CARD_HEIGHT - 130
SITE_NAME_BASELINE = CARD_HEIGHT - 60
SITE_NAME_SIZE = 36
# The title is centred in the space between the accent bar and the footer rule.
TITLE_TOP = ACCENT_BAR_HEIGHT + 50
TITLE_BOTTOM = FOOTER_RULE_Y - 40
TITLE_SIZES = range(72, 39, -4)  # 72, 68, ... 40 px: the largest size the title fits in wins
TITLE_MAX_LINES = 4
LINE_SPACING = 1.2
ELLIPSIS = "\u2026"

# Anti-aliased text on a flat background only mixes a text colour with the background, so a
# palette of those blends draws the card exactly enough and makes a small PNG.
BLEND_STEPS = 16


def title_card_png(title: str, site_name: str) -> bytes:
    """A 1200x630 PNG: the post title large, wrapped, and the site name, in the bundled font."""
    site_name = _drawable(site_name, SITE_NAME_FONT)
    title = _drawable(title, TITLE_FONT)
    if not title:
        # A post without a (drawable) title gets the site's name as its title, said once.
        title, site_name = _drawable(site_name, TITLE_FONT), ""

    card = Image.new("RGB", (CARD_WIDTH, CARD_HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, CARD_WIDTH - 1, ACCENT_BAR_HEIGHT - 1), fill=ACCENT)

    if title:
        font, lines = _fit_title(title)
        ascent, descent = font.getmetrics()
        pitch = round(font.size * LINE_SPACING)
        block_height = ascent + (len(lines) - 1) * pitch + descent
        baseline = TITLE_TOP + (TITLE_BOTTOM - TITLE_TOP - block_height) // 2 + ascent
        # A title in Hebrew or Arabic reads from the right, so it is set against the right margin.
        x, anchor = (CARD_WIDTH - MARGIN, "rs") if _reads_right_to_left(title) else (MARGIN, "ls")
        for line in lines:
            draw.text((x, baseline), line, font=font, fill=TEXT, anchor=anchor)
            baseline += pitch

    if site_name:
        draw.line((MARGIN, FOOTER_RULE_Y, CARD_WIDTH - MARGIN, FOOTER_RULE_Y), fill=BORDER, width=2)
        font = _font(SITE_NAME_FONT, SITE_NAME_SIZE)
        name = site_name
        if font.getlength(name) > TEXT_WIDTH:
            name = _ellipsized(name, font)
        draw.text((MARGIN, SITE_NAME_BASELINE), name, font=font, fill=MUTED, anchor="ls")

    png = io.BytesIO()
    card.quantize(palette=_palette(), dither=Image.Dither.NONE).save(png, "PNG", optimize=True)
    return png.getvalue()


def _fit_title(title):
    """The largest title font the title fits in, and its lines; at the smallest, cut short."""
    for size in TITLE_SIZES:
        font = _font(TITLE_FONT, size)
        lines = _wrapped(title, font, TITLE_MAX_LINES + 1)
        if len(lines) <= TITLE_MAX_LINES:
            return font, lines
    lines = lines[:TITLE_MAX_LINES]
    lines[-1] = _ellipsized(lines[-1], font)
    return font, lines


def _wrapped(text, font, max_lines):
    """Lines of ``text`` no wider than the card's text width, broken between words where
    possible and inside a word only when it is wider than a line; at most ``max_lines``."""
    lines = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= TEXT_WIDTH:
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = [word] if font.getlength(word) <= TEXT_WIDTH else _broken_word(word, font)
        lines.extend(pieces[:-1])
        current = pieces[-1]
        if len(lines) >= max_lines:
            return lines[:max_lines]
    lines.append(current)
    return lines[:max_lines]


def _broken_word(word, font):
    """A word too wide for one line, in pieces that each fit; never between a letter and the
    accent that follows it."""
    pieces = []
    piece = ""
    for cluster in _clusters(word):
        if piece and font.getlength(piece + cluster) > TEXT_WIDTH:
            pieces.append(piece)
            piece = ""
        piece += cluster
    pieces.append(piece)
    return pieces


def _clusters(text):
    clusters = []
    for char in text:
        if clusters and unicodedata.combining(char):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def _ellipsized(line, font):
    """``line`` ending in an ellipsis, cut (at a word break if one is near) to fit the width."""
    if font.getlength(line + ELLIPSIS) <= TEXT_WIDTH:
        return line + ELLIPSIS
    clusters = _clusters(line)
    while clusters and font.getlength("".join(clusters) + ELLIPSIS) > TEXT_WIDTH:
        clusters.pop()
    cut = "".join(clusters)
    splits_a_word = cut[-1:].isalnum() and line[len(cut)].isalnum()
    before_space, space, _ = cut.rpartition(" ")
    if splits_a_word and space and len(before_space) >= len(cut) // 2:
        cut = before_space
    return cut.rstrip(" ,.;:-\u2013\u2014") + ELLIPSIS


def _reads_right_to_left(text):
    """Whether the first letter with a direction of its own is written right to left."""
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


def _drawable(text, font_path):
    """``text`` on one line with single spaces, without the characters the font has no glyph
    for (they would show as empty boxes) or that cannot be drawn at all."""
    text = unicodedata.normalize("NFC", text or "")
    kept = "".join(
        char
        for char in text
        if char.isspace()
        or (unicodedata.category(char) not in _UNDRAWABLE and _has_glyph(font_path, char))
    )
    return " ".join(kept.split())


# Control characters, lone surrogates, private use and unassigned code points.
_UNDRAWABLE = {"Cc", "Cs", "Co", "Cn"}
# A code point DejaVu has no glyph for: it draws the font's "missing glyph" box.
_MISSING_GLYPH_PROBE = "\U0010fffd"


@lru_cache(maxsize=8192)
def _has_glyph(font_path, char):
    # Pillow has no public way to ask a font whether it covers a character; a character it
    # lacks is drawn as the font's missing-glyph box, so compare the two drawings.
    return _drawing(font_path, char) != _missing_glyph_drawing(font_path)


@lru_cache(maxsize=2)
def _missing_glyph_drawing(font_path):
    return _drawing(font_path, _MISSING_GLYPH_PROBE)


def _drawing(font_path, char):
    font = _font(font_path, 24)
    image = Image.new("L", (64, 64))
    ImageDraw.Draw(image).text((8, 8), char, font=font, fill=255)
    return image.tobytes()


@lru_cache(maxsize=32)
def _font(path, size):
    return ImageFont.truetype(str(path), size)


@lru_cache(maxsize=1)
def _palette():
    colours = [BACKGROUND]
    for colour in (TEXT, MUTED, ACCENT, BORDER):
        for step in range(1, BLEND_STEPS + 1):
            colours.append(_blend(BACKGROUND, colour, step / BLEND_STEPS))
    unique = list(dict.fromkeys(colours))
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for colour in unique for channel in colour])
    return palette


def _blend(background, colour, share):
    return tuple(round(b + (c - b) * share) for b, c in zip(background, colour, strict=True))
