from django.urls import path
from rest_framework.routers import SimpleRouter

from crises.api.schedule_views import CrisisScheduleViewSet
from crises.api.views import CrisisViewSet, CrisisWaitView

router = SimpleRouter()
router.register("crises", CrisisViewSet, basename="crisis")
router.register("crisis-schedules", CrisisScheduleViewSet, basename="crisis-schedule")

urlpatterns = [
    path("crises/<str:crisis_id>/wait/", CrisisWaitView.as_view(), name="crisis-wait"),
    *router.urls,
]
