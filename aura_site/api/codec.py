"""The codec endpoint of the Temporal UI: `POST /codec/encode` and `POST /codec/decode`.

Temporal's remote codec protocol: the UI posts `{"payloads": [{"metadata": {...}, "data": ...}]}`
(metadata values and data in base64, as protobuf's JSON mapping writes bytes) with an
`X-Namespace` header, from its own origin, with the user's cookies; the answer has the same
shape. The UI's origin (`AURA_CODEC_CORS_ORIGINS`) gets CORS headers with credentials; no other
origin gets any. Both operations are pure (no state changes) and need
`aura_site.use_payload_codec`. See docs/payloads.md.
"""

import base64
import binascii
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from temporalio.api.common.v1 import Payload

from aura_site.api.authentication import TokenAuthentication
from aura_site.api.parsers import BoundedJSONParser
from aura_site.codec import EncryptionCodec, PayloadDecryptionError, settings_codec

PERMISSION = "aura_site.use_payload_codec"
MAX_PAYLOADS = 1000
_ALLOWED_HEADERS = "authorization, content-type, x-namespace"


@extend_schema_field(OpenApiTypes.BYTE)
class Base64Field(serializers.Field):
    """Bytes as base64 text: standard or URL-safe alphabet, padding optional (as protojson)."""

    default_error_messages = {"invalid": "Must be base64 text."}

    def to_internal_value(self, data: Any) -> bytes:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            padded = data + "=" * (-len(data) % 4)
            return base64.b64decode(padded, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid")

    def to_representation(self, value: bytes) -> str:
        return base64.b64encode(value).decode()


class PayloadSerializer(serializers.Serializer):
    metadata = serializers.DictField(child=Base64Field(), required=False, default=dict)
    data = Base64Field(required=False, default=b"")


class PayloadsSerializer(serializers.Serializer):
    payloads = PayloadSerializer(many=True, max_length=MAX_PAYLOADS)


class CanUsePayloadCodec(permissions.BasePermission):
    """Decoding reveals every workflow's data: it takes a permission of its own."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(PERMISSION))


class CodecSessionAuthentication(SessionAuthentication):
    """Session login, with the Temporal UI's origin standing in for a CSRF token.

    The UI posts cross-origin with the user's cookies and cannot send Django's CSRF token. A
    request from an origin in `AURA_CODEC_CORS_ORIGINS` is trusted as the UI's; any other
    request with a session goes through Django's usual CSRF check. Token requests carry no
    cookies and need neither.
    """

    def enforce_csrf(self, request: Request) -> None:
        if request.META.get("HTTP_ORIGIN", "").lower() in settings.AURA_CODEC_CORS_ORIGINS:
            return
        super().enforce_csrf(request)


class CodecSessionScheme(SessionScheme):
    """OpenAPI: the codec's session login, the usual cookie without the CSRF token."""

    target_class = CodecSessionAuthentication
    name = "codecCookieAuth"


def allowed_origin(request: HttpRequest) -> str | None:
    """Return the request's Origin when it may read the answer (the Temporal UI's), else None."""
    origin = request.META.get("HTTP_ORIGIN", "")
    return origin if origin.lower() in settings.AURA_CODEC_CORS_ORIGINS else None


def add_cors_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Let the configured origin read `response` with credentials; say nothing to others."""
    patch_vary_headers(response, ["Origin"])
    origin = allowed_origin(request)
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
    return response


def preflight(request: HttpRequest) -> HttpResponse:
    """Answer a CORS preflight: POST with the UI's headers, for the configured origin only."""
    response = HttpResponse(status=204)
    response["Allow"] = "POST, OPTIONS"
    if allowed_origin(request) is not None:
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = _ALLOWED_HEADERS
        response["Access-Control-Max-Age"] = "600"
    return add_cors_headers(request, response)


NAMESPACE_PARAMETER = OpenApiParameter(
    "X-Namespace",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The Temporal UI's current namespace; one key set serves every namespace.",
)


class CodecView(APIView):
    """Encode or decode Temporal payloads with the keys of `AURA_PAYLOAD_KEYS`."""

    authentication_classes = [TokenAuthentication, CodecSessionAuthentication]
    permission_classes = [CanUsePayloadCodec]
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    # The UI calls once per payload it shows; the calls write nothing, so no write budget.
    throttle_classes: list[type] = []

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # A preflight carries no credentials: it is answered before authentication.
        if request.method == "OPTIONS":
            return preflight(request)
        return add_cors_headers(request, super().dispatch(request, *args, **kwargs))

    def transform(self, codec: EncryptionCodec, payload: Payload) -> Payload:
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        incoming = PayloadsSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        payloads = [Payload(**item) for item in incoming.validated_data["payloads"]]
        codec = settings_codec()
        if codec is not None:  # encryption off: payloads come back unchanged
            errors = {}
            for index, payload in enumerate(payloads):
                try:
                    payloads[index] = self.transform(codec, payload)
                except PayloadDecryptionError as exc:
                    errors[str(index)] = [str(exc)]
            if errors:
                raise serializers.ValidationError({"payloads": errors})
        answer = [{"metadata": dict(p.metadata), "data": p.data} for p in payloads]
        return Response(PayloadsSerializer({"payloads": answer}).data)


class EncodeView(CodecView):
    @extend_schema(
        operation_id="codec_encode",
        tags=["codec"],
        summary="Encrypt payloads (Temporal UI codec server)",
        parameters=[NAMESPACE_PARAMETER],
        request=PayloadsSerializer,
        responses={200: PayloadsSerializer},
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def transform(self, codec: EncryptionCodec, payload: Payload) -> Payload:
        return codec.encrypt(payload)


class DecodeView(CodecView):
    @extend_schema(
        operation_id="codec_decode",
        tags=["codec"],
        summary="Decrypt payloads (Temporal UI codec server)",
        parameters=[NAMESPACE_PARAMETER],
        request=PayloadsSerializer,
        responses={200: PayloadsSerializer},
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def transform(self, codec: EncryptionCodec, payload: Payload) -> Payload:
        return codec.decrypt(payload)
