"""A view that fails unexpectedly, to check what the API answers then."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView


class BoomView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("unexpected")


urlpatterns = [path("api/v1/boom/", BoomView.as_view())]
