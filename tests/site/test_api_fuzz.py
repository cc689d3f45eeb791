"""Property-based API fuzzing (schemathesis): whatever the input, never a 5xx, always a
response that matches the published OpenAPI schema, for reads and writes, signed in or not."""

import pytest
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from tests.fuzzing import CHECKS, schema

FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
read_only = schema.include(method="GET")
writes = schema.include(method="POST")


@pytest.fixture
def token(django_user_model) -> str:
    user = django_user_model.objects.create_superuser("fuzzer", password="x")
    return Token.objects.create(user=user).key


@pytest.mark.django_db(transaction=True)
@read_only.parametrize()
@FUZZ
def test_api_read_endpoints(case, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)


# Writes start real workflows: a real worker serves them, so moves on an epoch the fuzzer
# created itself are answered by its workflow, not left waiting.
@pytest.mark.django_db(transaction=True)
@writes.parametrize()
@FUZZ
def test_api_write_endpoints(case, token: str, worker_thread: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_anonymous(case) -> None:
    response = case.call_and_validate(checks=CHECKS)
    public = case.path in ("/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/")
    assert response.status_code != 200 or public
