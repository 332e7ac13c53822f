"""The HTTP side of the ASGI app: Django's whole request in one worker thread, not one hop per layer."""

from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain and the view run synchronously, together.

    Every view here is synchronous, and so are WhiteNoise and most of Django's middleware. The stock
    handler builds an async chain and adapts each sync piece with its own sync_to_async/async_to_sync
    switch (WhiteNoise, every MiddlewareMixin's process_request/process_response, CSRF's process_view,
    the view): several thread hops per request, each a wake-up and a GIL hand-over. Here the whole
    chain runs in the request's thread (asgiref's ThreadSensitiveContext, as the stock handler uses for
    sync code), so a request costs one hop there and one back. Body reading, disconnect detection and
    streaming the response stay ASGIHandler's own.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        """Build the chain in sync mode whatever the caller asks: get_response_async runs it in a thread."""
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        """Run the sync chain (middleware, view, logging) in the request's thread."""
        response: Any = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        return response  # type: ignore[no-any-return]
