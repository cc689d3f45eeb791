from rest_framework.routers import SimpleRouter

from crises.api.schedule_views import CrisisScheduleViewSet
from crises.api.views import CrisisViewSet

router = SimpleRouter()
router.register("crises", CrisisViewSet, basename="crisis")
router.register("crisis-schedules", CrisisScheduleViewSet, basename="crisis-schedule")

urlpatterns = router.urls
