"""What every schemathesis run of the suite shares: the app's own schema and the checks."""

from collections.abc import Callable, Iterable

import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aura_site.wsgi import application


def keeping_the_connection(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """Call the app as Django's test client does: the request signals do not close the test's
    database connection (CONN_MAX_AGE is 0 in tests), so each request does not open a new one.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", keeping_the_connection)
# Never a 5xx, and every answer as the schema publishes it. Not the data-acceptance checks: an
# empty filter (`?phase=`) means "no filter" as everywhere in Django, and a NUL byte in a string
# is a 400 the schema cannot express.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
