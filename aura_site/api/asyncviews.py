"""DRF views whose handlers are coroutines: what a long-poll needs under ASGI.

DRF's own dispatch is sync, so under ASGI a view holds a thread for as long as it runs. This
one runs DRF's checks (authentication, permissions, throttles) and its error handling in a
thread, as a sync view would, then awaits the handler on the event loop: a handler that waits
on Temporal holds no thread while it does.
"""

import inspect
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from rest_framework.response import Response
from rest_framework.views import APIView


class AsyncAPIView(APIView):
    """An APIView whose `get` (and other handlers) are `async def`."""

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            await sync_to_async(self.initial)(request, *args, **kwargs)
            method = request.method.lower()
            handler = self.http_method_not_allowed
            if method in self.http_method_names:
                handler = getattr(self, method, self.http_method_not_allowed)
            response = handler(request, *args, **kwargs)
            if inspect.isawaitable(response):
                response = await response
        except Exception as exc:
            response = await sync_to_async(self.handle_exception)(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response
