import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


def load_settings(**env):
    """Import the settings module in a fresh interpreter with exactly this environment."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from config import settings as s; "
            "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.DATABASES['default']['ENGINE'])",
        ],
        cwd=PROJECT_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_missing_secret_key_with_debug_off_stops_start_up_with_a_clear_message():
    result = load_settings()
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_on_allows_the_insecure_development_key():
    result = load_settings(DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True")


def test_https_settings_are_off_by_default():
    result = load_settings(DJANGO_SECRET_KEY="x" * 50)
    assert result.stdout.split()[:5] == ["False", "False", "False", "False", "0"]


def test_one_setting_switches_on_https_only_settings():
    result = load_settings(DJANGO_SECRET_KEY="x" * 50, DJANGO_HTTPS_ONLY="true")
    assert result.stdout.split()[:5] == ["False", "True", "True", "True", "31536000"]


@pytest.mark.parametrize("database_url", [None, ""])
def test_default_database_is_sqlite(database_url):
    env = {} if database_url is None else {"DATABASE_URL": database_url}
    result = load_settings(DJANGO_SECRET_KEY="x" * 50, **env)
    assert result.stdout.split()[5] == "django.db.backends.sqlite3"


@pytest.mark.parametrize("url", ["postgres://u@127.0.0.1:5432/blog", "postgresql://u@h/db"])
def test_database_url_switches_to_postgresql(url):
    result = load_settings(DJANGO_SECRET_KEY="x" * 50, DATABASE_URL=url)
    assert result.stdout.split()[5] == "django.db.backends.postgresql"


PRODUCTION = {
    "DJANGO_SECRET_KEY": "k" * 20 + "-Z9_production-like-key-0123456789",
    "DJANGO_HTTPS_ONLY": "true",
    "SITE_URL": "https://blog.example.com",
    "EMAIL_HOST": "smtp.example.com",
}


def deploy_check(**env):
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "EMAIL_", "SITE_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_deploy_checks_pass_with_production_settings():
    result = deploy_check(**PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("unset", "warning"), [("EMAIL_HOST", "newsletter.W001"), ("SITE_URL", "newsletter.W002")]
)
def test_deploy_checks_warn_about_development_email_settings(unset, warning):
    env = {key: value for key, value in PRODUCTION.items() if key != unset}
    result = deploy_check(**env)
    assert result.returncode != 0
    assert warning in result.stderr
