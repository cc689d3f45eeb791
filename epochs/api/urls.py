from rest_framework.routers import SimpleRouter

from epochs.api.views import EpochViewSet

router = SimpleRouter()
router.register("epochs", EpochViewSet, basename="epoch")

urlpatterns = router.urls
