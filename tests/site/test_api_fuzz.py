"""Property-based API fuzzing (schemathesis): whatever the input, never a 5xx, always a
response that matches the published OpenAPI schema."""

import pytest
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from tests.fuzzing import CHECKS, schema

# Safe methods only here: the write endpoints start workflows and have their own tests.
read_only = schema.include(method="GET")


@pytest.fixture
def token(django_user_model) -> str:
    user = django_user_model.objects.create_superuser("fuzzer", password="x")
    return Token.objects.create(user=user).key


@pytest.mark.django_db(transaction=True)
@read_only.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_read_endpoints(case, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)


# The operator actions change nothing on records that do not exist, and a fresh database has
# none: their bodies, headers and errors are fuzzed without starting or stopping a workflow.
operator_actions = schema.include(method="POST", path_regex=r"/(cancel|terminate|rerun)/$")


@pytest.mark.django_db(transaction=True)
@operator_actions.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_operator_actions(case, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
