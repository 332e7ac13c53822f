"""Attachment writes: uploads, giving them to a message, erasing them with it, cleaning up unsent ones."""

import uuid
from datetime import timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chatproject.conf import chat_settings
from chatproject.fields import is_bigint_id
from messaging.attachments.selectors import attachments_attach
from messaging.attachments.uploads import EXTENSIONS, clean_filename, sniff_content_type
from messaging.errors import (
    AttachmentEmptyError,
    AttachmentTooLargeError,
    AttachmentTypeError,
    InvalidAttachmentError,
)
from messaging.models import Attachment, Message


def attachment_upload(*, uploader: User, file: UploadedFile) -> Attachment:
    """Store an uploaded file for the uploader's next message; its type is sniffed from the content.

    The file is written to storage first, then its row in a transaction of its own; if the row
    cannot be written the file is deleted again (a write cannot be rolled back like a row). Raises
    AttachmentTooLargeError, AttachmentEmptyError, AttachmentTypeError.
    """
    limit = chat_settings.ATTACHMENT_MAX_BYTES
    if file.size is None or file.size > limit:
        raise AttachmentTooLargeError(f"file is too large (at most {limit} bytes)")
    if file.size == 0:
        raise AttachmentEmptyError()
    content_type = sniff_content_type(file)
    if content_type is None:
        raise AttachmentTypeError()
    attachment = Attachment(
        uploader=uploader,
        filename=clean_filename(file.name or "", content_type),
        content_type=content_type,
        size=file.size,
    )
    attachment.file.save(uuid.uuid4().hex + EXTENSIONS[content_type], file, save=False)
    try:
        with transaction.atomic():
            attachment.save()
    except BaseException:
        attachment.file.delete(save=False)
        raise
    return attachment


def attachment_ids_check(attachment_ids: list[int] | None) -> list[int]:
    """The distinct ids, in order; at most ATTACHMENTS_PER_MESSAGE. Raises InvalidAttachmentError."""
    ids = list(dict.fromkeys(attachment_ids or []))
    if not all(is_bigint_id(attachment_id) for attachment_id in ids):
        raise InvalidAttachmentError()
    if len(ids) > chat_settings.ATTACHMENTS_PER_MESSAGE:
        raise InvalidAttachmentError(
            f"at most {chat_settings.ATTACHMENTS_PER_MESSAGE} attachments per message"
        )
    return ids


def attachments_claim(*, message: Message, uploader: User, attachment_ids: list[int]) -> None:
    """Give the uploads to a new message; needs the caller's transaction, which fails whole if one is not free.

    One conditional UPDATE decides: an upload that is not the uploader's, already carried by a message
    (a concurrent send waits for the row lock, then sees message_id set) or removed by the cleanup is
    not matched, the count falls short, and the send rolls back. Raises InvalidAttachmentError.
    """
    if attachment_ids:
        attached = Attachment.objects.filter(
            pk__in=attachment_ids, uploader=uploader, message__isnull=True
        ).update(message=message)
        if attached != len(attachment_ids):
            raise InvalidAttachmentError()
    # Both payloads (broadcast and answer) read them from here: one query, or none without uploads.
    if attachment_ids:
        attachments_attach([message])
    else:
        _no_attachments(message)


def _no_attachments(message: Message) -> None:
    """Record on the instance that it has no attachments, as attachments_attach would (no query)."""
    message.attachment_list = []


def attachments_erase_for_message(message: Message) -> int:
    """Delete a message's attachments (for deletion): rows now, in the caller's transaction; files once it commits.

    Returns how many were deleted. The message's payload afterwards lists none.
    """
    deleted, _ = Attachment.objects.filter(message=message).delete()
    _no_attachments(message)
    return deleted


def attachments_cleanup_unsent(*, older_than: timedelta, batch_size: int = 500) -> int:
    """Delete uploads that no message carries, created more than `older_than` ago; returns how many.

    Works in batches, each in its own transaction. Rows a concurrent send is attaching are locked by its
    UPDATE and skipped (SKIP LOCKED); a send that comes after a batch's delete finds its upload gone
    and fails with InvalidAttachmentError instead of carrying a deleted file. Files go on commit.
    """
    cutoff = timezone.now() - older_than
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Attachment.objects.select_for_update(skip_locked=True)
                .filter(message__isnull=True, created_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return total
            deleted, _ = Attachment.objects.filter(pk__in=ids, message__isnull=True).delete()
        total += deleted
