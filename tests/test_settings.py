import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


def load_settings(**env):
    """Import the settings module in a fresh interpreter with exactly this environment."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(  # noqa: S603
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
    return subprocess.run(  # noqa: S603
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


ENV_EXAMPLE = PROJECT_DIR / ".env.example"
DEFAULT_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")
# A commented-out `# KEY=value` line documents a variable that has no default.
EXAMPLE_LINE = re.compile(r"^#\s*([A-Z][A-Z0-9_]*)=(\S*)$")
SETTINGS_READ = re.compile(r'(?:os\.environ\.get|env_bool|env_list)\(\s*"([A-Z][A-Z0-9_]*)"')


def env_example():
    """`.env.example` as (defaults, examples), each {name: value}."""
    defaults, examples = {}, {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := DEFAULT_LINE.match(line):
            defaults[match[1]] = match[2]
        elif match := EXAMPLE_LINE.match(line):
            examples[match[1]] = match[2]
    return defaults, examples


def documented_variables():
    defaults, examples = env_example()
    return set(defaults) | set(examples)


def variables_read_by_settings():
    return set(SETTINGS_READ.findall((PROJECT_DIR / "config" / "settings.py").read_text()))


def production_environment(**overrides):
    """`.env.example`'s defaults with the production values its header asks for."""
    defaults, _ = env_example()
    return {
        **defaults,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "blog.example.com",
        "DJANGO_HTTPS_ONLY": "true",
        "DATABASE_URL": "postgres://blog:secret@db.example.com:5432/blog",
        "SITE_URL": "https://blog.example.com",
        "EMAIL_HOST": "smtp.example.com",
        **overrides,
    }


def run_with_environment(arguments, env):
    """Run Python in the project with exactly `env` for every variable the blog reads."""
    blog_variables = variables_read_by_settings() | documented_variables()
    clean = {key: value for key, value in os.environ.items() if key not in blog_variables}
    return subprocess.run(  # noqa: S603
        [sys.executable, *arguments],
        cwd=PROJECT_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def settings_values(env, *names):
    code = (
        "import json; from config import settings; "
        f"print(json.dumps({{name: getattr(settings, name, None) for name in {names!r}}}))"
    )
    result = run_with_environment(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_deploy_checks_pass_with_the_production_environment_from_env_example():
    result = run_with_environment(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_environment()
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_environment_turns_on_every_https_setting():
    values = settings_values(
        production_environment(),
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    )
    assert values.pop("SECURE_HSTS_SECONDS") >= 31_536_000
    assert values == dict.fromkeys(values, True)


@pytest.mark.parametrize("behind_proxy", [None, "", "false"])
def test_forwarded_proto_is_not_trusted_unless_behind_a_proxy(behind_proxy):
    env = production_environment()
    env.pop("DJANGO_BEHIND_PROXY")
    if behind_proxy is not None:
        env["DJANGO_BEHIND_PROXY"] = behind_proxy
    values = settings_values(env, "SECURE_PROXY_SSL_HEADER")
    assert values["SECURE_PROXY_SSL_HEADER"] is None


def test_behind_a_proxy_https_is_read_from_x_forwarded_proto():
    env = production_environment(DJANGO_BEHIND_PROXY="true")
    values = settings_values(env, "SECURE_PROXY_SSL_HEADER")
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_redis_url_switches_the_default_cache_to_redis():
    env = production_environment(REDIS_URL="redis://127.0.0.1:6379/3")
    default = settings_values(env, "CACHES")["CACHES"]["default"]
    assert default["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert default["LOCATION"] == "redis://127.0.0.1:6379/3"


@pytest.mark.parametrize(
    ("cache_dir", "location"),
    [
        (None, PROJECT_DIR / "var" / "cache"),
        ("var/cache", PROJECT_DIR / "var" / "cache"),
        ("/srv/blog/cache", Path("/srv/blog/cache")),
    ],
)
def test_without_redis_url_the_default_cache_is_files_in_cache_dir(cache_dir, location):
    env = production_environment(CACHE_DIR=cache_dir)
    if cache_dir is None:
        env.pop("CACHE_DIR")
    default = settings_values(env, "CACHES")["CACHES"]["default"]
    assert default["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert default["LOCATION"] == str(location)


def test_env_example_lists_every_variable_the_settings_read():
    assert sorted(variables_read_by_settings() - documented_variables()) == []
