import io

from PIL import Image, ImageChops

from blog.social_cards import (
    ACCENT_BAR_HEIGHT,
    BACKGROUND,
    CARD_HEIGHT,
    CARD_WIDTH,
    FOOTER_RULE_Y,
    MARGIN,
    MUTED,
    TEXT,
    title_card_png,
)

TYPICAL_TITLE = "Backpressure, explained: why queues don't fix overload"


def opened(png):
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def title_band(png):
    """The part of the card between the accent bar and the footer rule, where the title goes."""
    return opened(png).convert("RGB").crop((0, ACCENT_BAR_HEIGHT, CARD_WIDTH, FOOTER_RULE_Y - 1))


def inked_box(region):
    """The box around everything drawn in ``region`` (None when it is all background)."""
    return ImageChops.difference(region, Image.new("RGB", region.size, BACKGROUND)).getbbox()


def pixels_of(region, colour):
    counts = {pixel: count for count, pixel in region.getcolors(region.width * region.height)}
    return counts.get(colour, 0)


def assert_within_margins(png):
    left, _, right, _ = inked_box(title_band(png))
    assert left >= MARGIN
    assert right <= CARD_WIDTH - MARGIN


def test_card_is_a_1200_by_630_png():
    card = opened(title_card_png(TYPICAL_TITLE, "Blog"))

    assert card.format == "PNG"
    assert card.size == (CARD_WIDTH, CARD_HEIGHT) == (1200, 630)


def test_typical_card_is_small():
    assert len(title_card_png(TYPICAL_TITLE, "Blog")) < 100_000


def test_same_title_and_site_name_give_identical_bytes():
    assert title_card_png(TYPICAL_TITLE, "Blog") == title_card_png(TYPICAL_TITLE, "Blog")


def test_different_titles_give_different_cards():
    assert title_card_png("Backpressure", "Blog") != title_card_png("Load shedding", "Blog")


def test_different_site_names_give_different_cards():
    assert title_card_png(TYPICAL_TITLE, "Blog") != title_card_png(TYPICAL_TITLE, "Notes")


def test_title_is_drawn_in_the_text_colour():
    band = title_band(title_card_png(TYPICAL_TITLE, "Blog"))

    assert pixels_of(band, TEXT) > 5_000


def test_site_name_is_drawn_muted_below_the_rule():
    footer = opened(title_card_png(TYPICAL_TITLE, "Blog")).convert("RGB")
    footer = footer.crop((0, FOOTER_RULE_Y + 2, CARD_WIDTH, CARD_HEIGHT))

    assert pixels_of(footer, MUTED) > 200
    assert pixels_of(footer, TEXT) == 0


def test_typical_title_stays_inside_the_margins():
    assert_within_margins(title_card_png(TYPICAL_TITLE, "Blog"))


def test_300_character_title_still_makes_a_card_inside_the_margins():
    title = ("Consensus, replication and the ways PostgreSQL surprises you " * 5)[:300]
    png = title_card_png(title, "Blog")

    assert opened(png).size == (CARD_WIDTH, CARD_HEIGHT)
    assert_within_margins(png)


def test_200_character_single_word_is_broken_inside_the_margins():
    png = title_card_png("x" * 200, "Blog")

    assert opened(png).size == (CARD_WIDTH, CARD_HEIGHT)
    assert_within_margins(png)


def test_long_site_name_is_cut_inside_the_margins():
    footer = opened(title_card_png(TYPICAL_TITLE, "Notes " * 60)).convert("RGB")
    footer = footer.crop((0, FOOTER_RULE_Y + 2, CARD_WIDTH, CARD_HEIGHT))

    assert inked_box(footer)[2] <= CARD_WIDTH - MARGIN


def test_empty_title_shows_the_site_name_as_the_title():
    assert title_card_png("", "Blog") == title_card_png("Blog", "")


def test_whitespace_title_shows_the_site_name_as_the_title():
    assert title_card_png(" \t\n ", "Blog") == title_card_png("Blog", "")


def test_empty_title_and_site_name_still_make_a_card():
    assert opened(title_card_png("", "")).size == (CARD_WIDTH, CARD_HEIGHT)


def test_runs_of_whitespace_in_a_title_are_one_space():
    assert title_card_png("Load\n\tshedding  now", "Blog") == title_card_png(
        "Load shedding now", "Blog"
    )


def test_cyrillic_title_is_drawn():
    png = title_card_png("Как устроена репликация в PostgreSQL", "Блог")

    assert png != title_card_png("", "Блог")
    assert pixels_of(title_band(png), TEXT) > 5_000


def test_greek_title_is_drawn():
    png = title_card_png("Συναίνεση και αναπαραγωγή", "Blog")

    assert png != title_card_png("", "Blog")
    assert pixels_of(title_band(png), TEXT) > 5_000


def test_hebrew_title_is_set_against_the_right_margin():
    left, _, right, _ = inked_box(title_band(title_card_png("שלום עולם", "Blog")))

    assert right <= CARD_WIDTH - MARGIN
    assert right > CARD_WIDTH - MARGIN - 10
    assert left > CARD_WIDTH // 2


def test_characters_the_font_lacks_are_left_out_rather_than_drawn_as_boxes():
    assert title_card_png("Rust 🚀 tips", "Blog") == title_card_png("Rust tips", "Blog")


def test_title_only_of_characters_the_font_lacks_shows_the_site_name():
    assert title_card_png("中文标题", "Blog") == title_card_png("", "Blog")


def test_control_characters_and_lone_surrogates_do_not_break_the_card():
    png = title_card_png("Null\x00 bell\x07 half \ud800 pair", "Blog")

    assert png == title_card_png("Null bell half pair", "Blog")
