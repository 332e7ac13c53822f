"""Message routes, as the seed names them: /api/messages/send and /api/messages/get."""

from rest_framework.routers import SimpleRouter

from messaging.views import MessageViewSet

router = SimpleRouter(trailing_slash=False)
router.register("messages", MessageViewSet, basename="message")

urlpatterns = router.urls
