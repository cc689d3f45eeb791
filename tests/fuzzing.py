"""What every schemathesis run of the suite shares: the app's own schema and the checks."""

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aura_site.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
# Never a 5xx, and every answer as the schema publishes it. Not the data-acceptance checks: an
# empty filter (`?phase=`) means "no filter" as everywhere in Django, and a NUL byte in a string
# is a 400 the schema cannot express.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
