"""API errors shared by the apps: each becomes a problem-details response."""

from rest_framework import status
from rest_framework.exceptions import APIException


class TemporalDown(APIException):
    """HTTP 503: Temporal could not be reached."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The workflow service is not available; try again shortly."
    default_code = "unavailable"
