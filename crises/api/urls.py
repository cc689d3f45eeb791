from rest_framework.routers import SimpleRouter

from crises.api.views import CrisisViewSet

router = SimpleRouter()
router.register("crises", CrisisViewSet, basename="crisis")

urlpatterns = router.urls
