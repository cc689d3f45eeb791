"""Aura settings: every value comes from the environment (see README, "Configuration")."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from aura_site import devstack, logs
from aura_site.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_networks,
    env_origins,
    env_rate,
    env_str,
    origin,
)
from aura_site.payload_keys import parse_payload_keys

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(env_str("AURA_STATE_DIR", str(BASE_DIR / ".aura")))

AURA_ENV = env_str("AURA_ENV", "development")
if AURA_ENV not in ("development", "production"):
    raise ImproperlyConfigured(
        f"AURA_ENV must be 'development' or 'production', not {AURA_ENV!r}."
    )
PRODUCTION = AURA_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when AURA_ENV=production.")
    SECRET_KEY = devstack.dev_secret_key(STATE_DIR)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "aura_site.apps.AuraAdminConfig",  # django.contrib.admin with the dashboard as its index
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "axes",
    "csp",
    "aura_site",
    "aura_site.runs",
    "audit",
    "crises",
    "epochs",
    "workers",
]

MIDDLEWARE = [
    # First: every answer, redirects and refusals too, carries the request id.
    "aura_site.middleware.RequestIdMiddleware",
    # Next, so it times everything else and sees every answer, refusals included.
    "aura_site.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "aura_site.middleware.RequestLineMiddleware",
    "aura_site.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "aura_site.urls"
WSGI_APPLICATION = "aura_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "aura_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Unset DATABASE_URL means the embedded PostgreSQL of the dev stack (`make run`, `make test`).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or devstack.embedded_database_url(STATE_DIR),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# A pool of up to this many connections per process (0: none). The web server runs under ASGI,
# where each request's sync code runs in a thread of its own that a persistent connection would
# outlive: aura_site/asgi.py turns the pool on there (Django's advice for ASGI).
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 0)
if DATABASE_POOL_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # a pooled connection goes back after each use
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        # Then the request is a 503 problem, "the database is not available": also how long a
        # request waits while PostgreSQL is down (the pool has no connection to give).
        "timeout": 5,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock out a username from the address that failed too often (not the username everywhere,
# which would let anyone lock the admin out); a successful login clears the count.
AXES_FAILURE_LIMIT = env_int("AURA_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AURA_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Reverse proxies in front of the app: with N > 0 the client address is the N-th from the end
# of X-Forwarded-For (login lockout and per-address throttles), else the socket's address.
AURA_PROXY_COUNT = env_int("AURA_PROXY_COUNT", 0)
if AURA_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = AURA_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = STATE_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
# Serve straight from the apps' static folders: no collectstatic step before `make run`.
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "admin:login"

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# X-Forwarded-Proto decides whether a request counts as HTTPS only when a proxy is declared
# to set it: otherwise any client could claim HTTPS.
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Everything is served from this origin (the API docs' assets from drf-spectacular-sidecar).
# Inline styles stay allowed: Redoc and Swagger UI inject theirs at run time; scripts do not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "base-uri": [SELF],
        "connect-src": [SELF],
        "font-src": [SELF, "data:"],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "worker-src": [SELF, "blob:"],
    },
}
# The longest URL (path and query) the app serves; uvicorn lets longer ones reach it.
AURA_MAX_URL_LENGTH = env_int("AURA_MAX_URL_LENGTH", 4096)
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

REST_FRAMEWORK = {
    # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "aura_site.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "aura_site.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "aura_site.api.parsers.BoundedMultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "aura_site.api.throttles.WriteRateThrottle",
        "aura_site.api.throttles.WaitRateThrottle",
    ],
    "NUM_PROXIES": AURA_PROXY_COUNT,
    "DEFAULT_PAGINATION_CLASS": "aura_site.api.pagination.LimitOffsetPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "aura_site.api.problems.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Per user (per address when anonymous), read by aura_site/api/throttles.py; "off" disables.
AURA_THROTTLE_WRITES = env_rate("AURA_THROTTLE_WRITES", "120/min")
AURA_THROTTLE_WAITS = env_rate("AURA_THROTTLE_WAITS", "60/min")
# Long-polls a user may have open at once, across every server process (aura_site/runs/waits.py).
AURA_MAX_OPEN_WAITS = env_int("AURA_MAX_OPEN_WAITS", 5)
if AURA_MAX_OPEN_WAITS < 1:
    raise ImproperlyConfigured("AURA_MAX_OPEN_WAITS must be at least 1.")

SPECTACULAR_SETTINGS = {
    "TITLE": "Aura API",
    "DESCRIPTION": "Crisis responses, Aura Protocol v3 epochs and the audit trail.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "aura_site.api.schema.add_problem_responses",
    ],
}

# Temporal: one client per process, built from these (aura_site/temporal.py).
TEMPORAL_ADDRESS = env_str("TEMPORAL_ADDRESS") or "localhost:7233"
TEMPORAL_NAMESPACE = env_str("TEMPORAL_NAMESPACE") or "default"
TEMPORAL_TASK_QUEUE = env_str("TEMPORAL_TASK_QUEUE") or "aura"
CRISIS_TASK_QUEUE = env_str("CRISIS_TASK_QUEUE") or "liara-crisis-tasks"
TEMPORAL_TLS_CERT = env_str("TEMPORAL_TLS_CERT")
TEMPORAL_TLS_KEY = env_str("TEMPORAL_TLS_KEY")
TEMPORAL_TLS_CA = env_str("TEMPORAL_TLS_CA")
TEMPORAL_API_KEY = env_str("TEMPORAL_API_KEY")
TEMPORAL_UI_URL = env_str("TEMPORAL_UI_URL") or "http://127.0.0.1:8233"
# Payload encryption (aura_site/codec.py, docs/payloads.md): `id:key,...`, the first key
# encrypts, all decrypt; unset means payloads reach Temporal in plain JSON.
AURA_PAYLOAD_KEYS = parse_payload_keys(env_str("AURA_PAYLOAD_KEYS"))
# Browser origins allowed to call the codec endpoint (/codec/) with credentials: the Temporal UI.
AURA_CODEC_CORS_ORIGINS = env_origins(
    "AURA_CODEC_CORS_ORIGINS", [o for o in [origin(TEMPORAL_UI_URL)] if o]
)

AURA_AUDIT_TRAIL = env_str("AURA_AUDIT_TRAIL") or "postgres"

# /metrics (aura_site/monitoring.py): the client addresses allowed (CIDRs, default loopback
# only) and, when set, the bearer token a scrape must send as well.
AURA_METRICS_ALLOW = env_networks("AURA_METRICS_ALLOW", ["127.0.0.0/8", "::1/128"])
AURA_METRICS_TOKEN = env_str("AURA_METRICS_TOKEN")

# Workflow starts go through an outbox (aura_site/runs): a start that fails for a passing
# reason is retried by every runworker's reconciler, and given up (the record failed) after this.
AURA_START_GIVE_UP_SECONDS = env_int("AURA_START_GIVE_UP_SECONDS", 3600)
# How often each runworker looks for pending starts, and the longest wait between two attempts.
AURA_RECONCILE_INTERVAL_SECONDS = env_int("AURA_RECONCILE_INTERVAL_SECONDS", 1)
AURA_START_RETRY_MAX_SECONDS = env_int("AURA_START_RETRY_MAX_SECONDS", 3)

# Plain text lines (the default) or one JSON object per line, with the request id, the user and
# the workflow's ids bound by aura_site.logs; gunicorn_conf.py routes gunicorn's logs the same way.
AURA_LOG_FORMAT = env_choice("AURA_LOG_FORMAT", logs.FORMATS, "text")
LOGGING = logs.logging_config(AURA_LOG_FORMAT, env_str("AURA_LOG_LEVEL", "INFO"))
# OpenTelemetry traces (aura_site/tracing.py): "otlp" exports to OTEL_EXPORTER_OTLP_ENDPOINT;
# setting that endpoint alone turns them on.
AURA_TRACING = env_choice(
    "AURA_TRACING", ("off", "otlp"), "otlp" if env_str("OTEL_EXPORTER_OTLP_ENDPOINT") else "off"
)

# --- Crisis responses (crises app) -------------------------------------------------------------
# How perform_agent_mission reaches agents: "log" (two log lines per deployment), "http" (POST the
# mission as JSON to CRISIS_AGENT_URL), or "scripted" (CRISIS_AGENT_SCRIPT, JSON: fail or delay
# chosen phases; for tests and demos). See docs/crises.md.
CRISIS_AGENT_DISPATCHER = env_str("CRISIS_AGENT_DISPATCHER") or "log"
CRISIS_AGENT_URL = env_str("CRISIS_AGENT_URL")
CRISIS_AGENT_TIMEOUT = env_int("CRISIS_AGENT_TIMEOUT", 30)  # seconds per HTTP attempt
CRISIS_AGENT_SCRIPT = env_str("CRISIS_AGENT_SCRIPT") or "{}"
# --- end of crisis responses ---------------------------------------------------------------------

# --- Epochs (Aura Protocol v3); read through epochs/conf.py ---------------------------------
# Slice commands run arbitrary code on the worker host: off unless explicitly allowed (and the
# user also needs the epochs.run_slice_command permission).
AURA_ALLOW_SLICE_COMMANDS = env_bool("AURA_ALLOW_SLICE_COMMANDS", False)
# History events before an epoch continues as new (0 = when Temporal suggests it).
AURA_EPOCH_CONTINUE_AS_NEW_AFTER = env_int("AURA_EPOCH_CONTINUE_AS_NEW_AFTER", 2000)
# One person, one axis per review round: refuse a user's vote on a second axis.
AURA_REVIEW_DISTINCT_VOTERS = env_bool("AURA_REVIEW_DISTINCT_VOTERS", False)
# Bytes kept of each output stream of a slice command.
AURA_SLICE_OUTPUT_LIMIT = env_int("AURA_SLICE_OUTPUT_LIMIT", 64 * 1024)
