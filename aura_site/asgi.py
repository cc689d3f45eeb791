"""The ASGI application: what `manage.py up` and deployments serve (see gunicorn_conf.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aura_site.settings")
# Under ASGI, Django runs each request's sync code in a thread of its own, which a persistent
# database connection would outlive (Django's documentation asks for them to be off there):
# connections come from a pool instead, returned at the end of each request.
os.environ["DATABASE_CONN_MAX_AGE"] = "0"
if not os.environ.get("DATABASE_POOL_SIZE"):
    os.environ["DATABASE_POOL_SIZE"] = "20"

application = get_asgi_application()
