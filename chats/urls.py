"""Chat routes: /api/chats, /api/chats/private, /api/chats/group, /api/chats/{id}[/members|/read]."""

from rest_framework.routers import SimpleRouter

from chats.views import ChatViewSet

router = SimpleRouter(trailing_slash=False, use_regex_path=False)
router.register("chats", ChatViewSet, basename="chat")

urlpatterns = router.urls
