"""The protocol reference endpoints: the constraint catalogue, and checking facts against it."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from epochs.api.constraint_serializers import (
    CatalogueSerializer,
    CheckResultSerializer,
    ConstraintCheckSerializer,
)
from epochs.catalogue import HANDOFF_SPECS
from epochs.constraint_specs import CONSTRAINT_SPECS
from epochs.constraints import check_facts


def catalogue() -> dict[str, list]:
    """Return the catalogue as `CatalogueSerializer` reads it."""
    return {
        "constraints": list(CONSTRAINT_SPECS.values()),
        "handoffs": list(HANDOFF_SPECS.values()),
    }


class ConstraintCatalogueView(generics.GenericAPIView):
    """The 28 protocol constraints (Given / When / Then / Should-not) and the handoffs h1–h6."""

    serializer_class = CatalogueSerializer
    pagination_class = None
    filter_backends: list = []

    def get(self, request: Request) -> Response:
        return Response(self.get_serializer(catalogue()).data)


class ConstraintCheckView(generics.GenericAPIView):
    """Check task titles (naming) and structural facts; violations report, they never block."""

    serializer_class = ConstraintCheckSerializer
    filter_backends: list = []

    @extend_schema(responses=CheckResultSerializer)
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        violations = check_facts(**serializer.validated_data)
        body = {"violations": violations, "count": len(violations)}
        return Response(CheckResultSerializer(body).data)
