from django.urls import path
from rest_framework.routers import SimpleRouter

from crises.api.views import CrisisViewSet, CrisisWaitView

router = SimpleRouter()
router.register("crises", CrisisViewSet, basename="crisis")

urlpatterns = [
    path("crises/<str:crisis_id>/wait/", CrisisWaitView.as_view(), name="crisis-wait"),
    *router.urls,
]
