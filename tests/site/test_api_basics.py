"""The API's shared parts: OpenAPI schema, local docs (no CDN), one error shape."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3(client: Client) -> None:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/audit-events/" in schema["paths"]
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    listing = schema["paths"]["/api/v1/audit-events/"]["get"]["responses"]
    for code in ("401", "413", "414", "429"):
        assert listing[code]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    assert schema["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
    ]


@pytest.mark.parametrize(
    ("path", "asset"),
    [
        ("/api/v1/docs/", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("/api/v1/redoc/", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_docs_are_served_locally(client: Client, path: str, asset: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/static/{asset}" in html
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs"):
        assert cdn not in html
    assert client.get(f"/static/{asset}").status_code == 200


def test_unhandled_errors_are_a_problem_without_traceback(settings) -> None:
    settings.ROOT_URLCONF = "tests.site.boom_urls"
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user=None)
    response = client.get("/api/v1/boom/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://aura.invalid/problems/internal",
        "title": "Internal error",
        "status": 500,
        "detail": "The server could not complete the request.",
    }
    assert b"Traceback" not in response.content
