"""The ASGI application: what `manage.py up` and deployments serve (see gunicorn_conf.py)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aura_site.settings")
# Under ASGI, Django runs each request's sync code in a thread of its own, which a persistent
# database connection would outlive (Django's documentation asks for them to be off there):
# connections come from a pool instead, returned at the end of each request.
os.environ["DATABASE_CONN_MAX_AGE"] = "0"
if not os.environ.get("DATABASE_POOL_SIZE"):
    os.environ["DATABASE_POOL_SIZE"] = "20"

django.setup(set_prefix=False)  # as get_asgi_application() does

from aura_site.asgi_handler import AuraASGIHandler  # noqa: E402  (needs the apps loaded)

application = AuraASGIHandler()
