from django.urls import path
from rest_framework.routers import SimpleRouter

from epochs.api.constraint_views import ConstraintCatalogueView, ConstraintCheckView
from epochs.api.views import EpochViewSet

router = SimpleRouter()
router.register("epochs", EpochViewSet, basename="epoch")

urlpatterns = [
    path(
        "protocol/constraints/",
        ConstraintCatalogueView.as_view(),
        name="protocol-constraints",
    ),
    path(
        "protocol/constraints/check/",
        ConstraintCheckView.as_view(),
        name="protocol-constraints-check",
    ),
    *router.urls,
]
