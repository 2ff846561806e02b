"""Settings for the blog, read from the environment. `.env.example` lists every variable."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DJANGO_DEBUG=true for local development only."
        )
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# One switch for everything that only makes sense behind HTTPS.
HTTPS_ONLY = env_bool("DJANGO_HTTPS_ONLY", default=False)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
# Preload lists take months to leave, so asking to join one is a choice of its own, not part
# of HTTPS_ONLY; the deploy check that asks for it (W021) is silenced below for that reason.
SECURE_HSTS_PRELOAD = HTTPS_ONLY and env_bool("DJANGO_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = ["security.W021"]
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "simple_history",
    "anymail",
    "core",
    "blog",
    "newsletter",
]

MIDDLEWARE = [
    "core.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Above the page cache, which stores pages as their views made them and serves its own
    # compressed copies: this compresses only what the cache did not make (search, the
    # newsletter's pages, 404s, the admin).
    "core.middleware.HeadWithoutBodyMiddleware",
    "core.compression.CompressionMiddleware",
    # Early: a cached page costs no session, user or CSRF work, and is kept with the headers
    # the middleware below adds (ETag, Content-Security-Policy, X-Frame-Options).
    "core.page_cache.PageCacheMiddleware",
    # Database errors from views become the outage page. process_exception runs after those of
    # the middleware below (none claim database errors), and the 503 still passes through them
    # all on its way out, so it gets every header they add.
    "core.outage.DatabaseOutageMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login that the throttle refused into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.site",
                "newsletter.context_processors.newsletter_box",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "600")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable database fails requests (and /healthz) in seconds instead of hanging them.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

# Cached pages. Every gunicorn worker must see the same cache, or a worker that
# did not see an author's save would keep serving its stale page: Redis when REDIS_URL is set
# (shared by every machine), else files on this machine (shared by its workers). Each worker also
# keeps recent pages in memory ("local"), used only while the shared cache says they are current.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "blog",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            # Relative paths start at the project folder; absolute ones are kept.
            "LOCATION": str(BASE_DIR / (os.environ.get("CACHE_DIR") or "var/cache")),
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }
CACHES["local"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "pages",
    "OPTIONS": {"MAX_ENTRIES": 300},
}
# How long a page stays in that cache; 0 turns page caching off. Author changes replace pages
# at once, so this only bounds changes made behind Django's back (raw SQL).
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "600"))
# How long a CDN or proxy may keep a public page (Cache-Control s-maxage); 0 for not at all.
CDN_CACHE_SECONDS = int(os.environ.get("CDN_CACHE_SECONDS", "60"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# AxesBackend refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = str(BASE_DIR / (os.environ.get("DJANGO_STATIC_ROOT") or "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# A post body at its limit (250,000 characters) of emoji is about 3 MB once form-encoded.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

# Uploaded files: images (under images/ and cards/) and imports waiting for their author's
# go-ahead (under imports/). On local disk unless S3_BUCKET is set.
MEDIA_ROOT = str(BASE_DIR / (os.environ.get("MEDIA_ROOT") or "var/media"))
# Images are linked from here. The application serves /media/ itself, from local disk or from
# the bucket; a CDN or a public bucket in front of the files is named by S3_PUBLIC_BASE_URL.
MEDIA_URL = (os.environ.get("S3_PUBLIC_BASE_URL") or "/media").rstrip("/") + "/"
MAX_IMAGE_UPLOAD_MB = int(os.environ.get("MAX_IMAGE_UPLOAD_MB", "10"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if S3_BUCKET := os.environ.get("S3_BUCKET", ""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("S3_REGION") or None,
            "access_key": os.environ.get("S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY") or None,
            # Objects stay private: pages link to MEDIA_URL, never to signed, expiring URLs.
            "default_acl": None,
            "querystring_auth": False,
            # MinIO and other S3-compatible servers at an endpoint URL want bucket-in-path URLs.
            "addressing_style": "path" if os.environ.get("S3_ENDPOINT_URL") else None,
        },
    }

SITE_NAME = os.environ.get("SITE_NAME", "Blog")
SITE_TAGLINE = os.environ.get(
    "SITE_TAGLINE",
    "In-depth articles on building scalable systems and backend engineering.",
)

# Absolute links in emails (and anywhere a page is read away from the site) start with this.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Email. The console backend prints messages to the worker's output until SMTP is configured.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Blog <newsletter@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# A provider's HTTP API instead of SMTP, through django-anymail: amazon_ses, brevo, mailgun,
# postmark, sendgrid, or any other anymail backend's name. Its settings come from the
# environment variables named ANYMAIL_<SETTING> (ANYMAIL_MAILGUN_API_KEY, ANYMAIL_WEBHOOK_SECRET).
EMAIL_PROVIDER = os.environ.get("EMAIL_PROVIDER", "").strip().lower()
if EMAIL_PROVIDER:
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}
# DKIM-signs what goes out by SMTP when all three are set, for relays that do not sign.
DKIM_PRIVATE_KEY_FILE = os.environ.get("DKIM_PRIVATE_KEY_FILE", "")
DKIM_SELECTOR = os.environ.get("DKIM_SELECTOR", "")
DKIM_DOMAIN = os.environ.get("DKIM_DOMAIN", "")
if (
    DKIM_PRIVATE_KEY_FILE
    and DKIM_SELECTOR
    and DKIM_DOMAIN
    and EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
):
    EMAIL_BACKEND = "core.mail.DKIMSigningEmailBackend"

# Email leaves the request path through this task queue; `manage.py db_worker` runs the tasks.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

NEWSLETTER_HEADING = os.environ.get("NEWSLETTER_HEADING", "Subscribe to newsletter")
NEWSLETTER_TEXT = os.environ.get(
    "NEWSLETTER_TEXT",
    "Subscribe to receive expert insights on high-performance Web and Node.js optimization "
    "techniques, and distributed systems engineering. I share practical tips, tutorials, and "
    "fun projects that you will appreciate. No spam, unsubscribe anytime.",
)
# A mailbox that unsubscribes whoever writes to it; only advertised in List-Unsubscribe when set.
NEWSLETTER_UNSUBSCRIBE_MAILTO = os.environ.get("NEWSLETTER_UNSUBSCRIBE_MAILTO", "")
NEWSLETTER_CONFIRM_DAYS = int(os.environ.get("NEWSLETTER_CONFIRM_DAYS", "7"))
# The sender's postal address in every email's footer, as the US CAN-SPAM act asks.
NEWSLETTER_POSTAL_ADDRESS = os.environ.get("NEWSLETTER_POSTAL_ADDRESS", "")
# Searches accepted from one client IP (IPv6: one /64) per minute; more get a 429 page.
SEARCHES_PER_IP_PER_MINUTE = int(os.environ.get("SEARCHES_PER_IP_PER_MINUTE", "30"))
NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR = int(
    os.environ.get("NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR", "20")
)
NEWSLETTER_EMAILS_PER_ADDRESS_PER_DAY = int(
    os.environ.get("NEWSLETTER_EMAILS_PER_ADDRESS_PER_DAY", "3")
)
NEWSLETTER_SEND_RATE = float(os.environ.get("NEWSLETTER_SEND_RATE", "10"))
NEWSLETTER_BATCH_SIZE = int(os.environ.get("NEWSLETTER_BATCH_SIZE", "100"))
NEWSLETTER_MAX_ATTEMPTS = int(os.environ.get("NEWSLETTER_MAX_ATTEMPTS", "3"))
NEWSLETTER_RETRY_DELAY = int(os.environ.get("NEWSLETTER_RETRY_DELAY", "60"))
NEWSLETTER_LEASE_SECONDS = int(os.environ.get("NEWSLETTER_LEASE_SECONDS", "60"))
# Behind a trusted proxy, the client address is the last one it appended to this header.
CLIENT_IP_HEADER = "HTTP_" + os.environ.get(
    "DJANGO_CLIENT_IP_HEADER", "X-Forwarded-For"
).upper().replace("-", "_").removeprefix("HTTP_")

# Admin login throttling (django-axes, counted in the database): this many failed logins for one
# user name from one client address, with no pause of LOGIN_LOCKOUT_MINUTES between them, lock
# that pair out until LOGIN_LOCKOUT_MINUTES pass with no attempt. A login that works starts over.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.ratelimit.client_ip_address"
AXES_LOCKOUT_CALLABLE = "core.lockout.login_locked_out"
# The log names the client address; the user name stays masked, as people type passwords there.
AXES_SENSITIVE_PARAMETERS = ["username"]

# While the database is unreachable, pages that need it answer 503 with this Retry-After.
OUTAGE_RETRY_AFTER = int(os.environ.get("OUTAGE_RETRY_AFTER", "30"))

# Everything goes to stderr (gunicorn's error log), through the root logger. Unhandled
# exceptions come from django.request with their traceback, method and path; its 4xx warnings
# stay out.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_method": {"()": "core.logging.IncludeRequestMethod"},
        "answered_outages": {"()": "core.logging.SkipAnsweredOutages"},
    },
    "formatters": {"console": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "console"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # No handlers of its own (Django's: console in debug only, email to ADMINS), so its
        # records are written once, by the root's.
        "django": {"level": "INFO"},
        "django.request": {"level": "ERROR", "filters": ["request_method", "answered_outages"]},
        "core": {"level": LOG_LEVEL},
        "blog": {"level": LOG_LEVEL},
        "newsletter": {"level": LOG_LEVEL},
        # Failed logins and lockouts; successes are INFO and stay out.
        "axes": {"level": "WARNING"},
    },
}

# Error reports to Sentry, only when SENTRY_DSN is set (pip install 'blog-engine[sentry]'). No
# cookies, user details or IP addresses are sent; performance traces only with a sample rate.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    SENTRY_TRACES_SAMPLE_RATE = os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "")
    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        environment=os.environ.get("SENTRY_ENVIRONMENT") or None,
        traces_sample_rate=float(SENTRY_TRACES_SAMPLE_RATE) if SENTRY_TRACES_SAMPLE_RATE else None,
    )
