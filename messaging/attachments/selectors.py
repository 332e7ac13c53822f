"""Attachment reads: loading a page's attachments, and the download access rule."""

from collections import defaultdict

from accounts.models import User
from chatproject.fields import is_bigint_id
from chats.access import is_chat_member
from messaging.errors import AttachmentNotFoundError
from messaging.models import Attachment, Message


def attachments_attach(messages: list[Message]) -> None:
    """Load the messages' attachments in one query and keep them on the messages for the payload.

    No query when none of them ever carried one (Message.has_attachments), which is most pages.

    Not prefetch_related_objects: it builds a related manager and a queryset per message, which cost
    more than the query itself on a page of 50 (message_payload reads these).
    """
    by_message: dict[int, list[Attachment]] = defaultdict(list)
    carrying = [message.pk for message in messages if message.has_attachments]
    if carrying:
        for attachment in Attachment.objects.filter(message_id__in=carrying).order_by("pk"):
            by_message[attachment.message_id].append(attachment)  # type: ignore[index]
    for message in messages:
        message.attachment_list = by_message.get(message.pk, [])


def attachment_get_for_download(*, attachment_id: int, user: User) -> Attachment:
    """An attachment the user may read: sent in a chat they are a member of, or their own unsent upload.

    Raises AttachmentNotFoundError for a missing attachment and a forbidden one alike.
    """
    if not is_bigint_id(attachment_id):
        raise AttachmentNotFoundError()
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None:
        raise AttachmentNotFoundError()
    message = attachment.message
    if message is None:
        allowed = attachment.uploader_id == user.pk
    else:
        allowed = message.deleted_at is None and is_chat_member(chat_id=message.chat_id, user=user)
    if not allowed:
        raise AttachmentNotFoundError()
    return attachment
