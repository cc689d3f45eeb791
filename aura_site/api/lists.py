"""List answers built from a page of keys, their rows read and rendered apart (rows.py)."""

from collections.abc import Callable
from typing import Any

from django.db import models
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response


def keyed_page(
    view: GenericAPIView, model: type[models.Model], render: Callable[[list[Any]], list[dict]]
) -> Response:
    """Answer a list request: the page's keys (and count) from a query of `model`'s table
    alone, filtered and ordered as the request asks; its rows made by `render` from the keys.
    """
    keys = view.filter_queryset(model._default_manager.all()).values_list("pk", flat=True)
    page = view.paginate_queryset(keys)
    data = render(list(keys if page is None else page))
    return Response(data) if page is None else view.get_paginated_response(data)
