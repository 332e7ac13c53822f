"""Message routes, as the seed names them: /api/messages/send and /api/messages/get."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from chatproject import converters
from messaging.views import AttachmentDownloadView, AttachmentUploadView, MessageViewSet

router = SimpleRouter(trailing_slash=False, use_regex_path=False)
router.register("messages", MessageViewSet, basename="message")

urlpatterns = [
    *router.urls,
    # --- attachments ---
    path("attachments", AttachmentUploadView.as_view(), name="attachment-upload"),
    path(
        f"attachments/<{converters.ID}:pk>/download",
        AttachmentDownloadView.as_view(),
        name="attachment-download",
    ),
]
