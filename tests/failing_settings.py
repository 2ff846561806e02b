"""The site's settings with one more page, /boom/, that fails: for tests of what errors leave."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.failing_urls"
