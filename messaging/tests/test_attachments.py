"""Attachments over HTTP: upload (sniffing, limits), sending with a message, download rules, cleanup."""

import io
import subprocess
import sys
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from chats import services as chat_services
from chats.models import Chat
from chats.tests.factories import group_chat, private_chat, run_in_threads
from messaging import services
from messaging.attachments import services as attachment_services
from messaging.errors import InvalidAttachmentError
from messaging.models import Attachment, Message
from messaging.payloads import attachment_payload

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
TEXT = "Grüße, мир: meeting notes\n\t- item one\r\n".encode()

UNSUPPORTED = {
    "error": "file type not allowed: PNG, JPEG, GIF, WebP, PDF or UTF-8 text only",
    "code": "unsupported_attachment_type",
}
INVALID_ATTACHMENT = {
    "error": "attachment_ids must name your own uploads that are not sent yet",
    "code": "invalid_attachment",
}
NOT_FOUND = {"error": "attachment not found", "code": "attachment_not_found"}


@pytest.fixture
def chat(user, bob):
    return private_chat(user, bob)


def upload(client, data, name="file.bin", content_type="application/octet-stream"):
    return client.post(
        "/api/attachments",
        {"file": SimpleUploadedFile(name, data, content_type=content_type)},
        format="multipart",
    )


def stored(uploader, data=PNG, name="photo.png"):
    """An unsent upload of `uploader`, stored through the service."""
    return attachment_services.attachment_upload(uploader=uploader, file=SimpleUploadedFile(name, data))


def send(client, chat, content="see attached", **body):
    return client.post("/api/messages/send", {"chat_id": chat.pk, "content": content, **body}, format="json")


def files_in(media_root):
    return [path for path in Path(media_root).rglob("*") if path.is_file()]


def body_of(response):
    """A streamed download's body. It is an async iterator (served chunk by chunk under Daphne); the
    sync test client reads it through Django's async-to-sync fallback, which warns."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "StreamingHttpResponse must consume asynchronous iterators")
        return b"".join(response)


# --- POST /api/attachments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (WEBP, "image/webp"),
        (PDF, "application/pdf"),
        (TEXT, "text/plain"),
    ],
    ids=["png", "jpeg", "gif", "webp", "pdf", "text"],
)
def test_upload_returns_201_with_the_sniffed_type_whatever_the_client_declares(
    auth_client, user, data, content_type
):
    # The name and declared type are those of an executable: only the bytes count.
    response = upload(auth_client, data, name="setup.exe", content_type="application/x-msdownload")

    assert response.status_code == 201, response.json()
    attachment = Attachment.objects.get(uploader=user)
    assert response.json() == {
        "id": attachment.pk,
        "filename": "setup.exe",
        "size": len(data),
        "content_type": content_type,
        "url": f"/api/attachments/{attachment.pk}/download",
    }


def test_upload_stores_the_bytes_under_a_random_name_with_the_sniffed_extension(auth_client, user):
    upload(auth_client, PDF, name="../../etc/passwd.png", content_type="image/png")

    attachment = Attachment.objects.get(uploader=user)
    assert attachment.filename == "passwd.png"
    assert attachment.file.name.startswith("attachments/")
    assert attachment.file.name.endswith(".pdf")
    with attachment.file.open("rb") as saved:
        assert saved.read() == PDF


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>",
        b"  \n<HTML>\n<body onload=alert(1)>",
        b"\xef\xbb\xbf<script>alert(1)</script>",
        b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode",
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00>\x00",
        b"#!/bin/sh\nrm -rf ~\n\x00",
        b"\xff\xfeh\x00i\x00",  # UTF-16 is not UTF-8 text
    ],
    ids=["html", "html_after_whitespace", "script_after_bom", "xml_svg", "windows_exe", "elf", "binary_script",
         "utf16"],
)  # fmt: skip
def test_upload_of_a_disallowed_type_disguised_as_png_is_415_and_stores_nothing(auth_client, settings, data):
    response = upload(auth_client, data, name="cat.png", content_type="image/png")

    assert (response.status_code, response.json()) == (415, UNSUPPORTED)
    assert not Attachment.objects.exists()
    assert files_in(settings.MEDIA_ROOT) == []


def test_upload_of_text_that_mentions_html_later_is_accepted_as_text(auth_client):
    response = upload(auth_client, b"The page starts with <html> and then <script>.\n", name="notes.txt")

    assert (response.status_code, response.json()["content_type"]) == (201, "text/plain")


def test_upload_of_an_empty_file_is_bad_request(auth_client, settings):
    response = upload(auth_client, b"", name="empty.txt", content_type="text/plain")

    assert (response.status_code, response.json()) == (
        400,
        {"error": "file is empty", "code": "attachment_empty"},
    )
    assert not Attachment.objects.exists()
    assert files_in(settings.MEDIA_ROOT) == []


def test_upload_over_the_size_limit_is_413_and_stores_nothing(auth_client, settings, chat_overrides):
    chat_overrides.ATTACHMENT_MAX_BYTES = 1000

    response = upload(auth_client, b"x" * 1001, name="big.txt", content_type="text/plain")

    assert (response.status_code, response.json()) == (
        413,
        {"error": "file is too large (at most 1000 bytes)", "code": "attachment_too_large"},
    )
    assert not Attachment.objects.exists()
    assert files_in(settings.MEDIA_ROOT) == []


def test_upload_of_a_body_declared_far_over_the_limit_is_413_before_parsing(
    auth_client, settings, chat_overrides
):
    chat_overrides.ATTACHMENT_MAX_BYTES = 1000

    response = upload(auth_client, PNG + b"\x00" * 200_000, name="huge.png", content_type="image/png")

    assert (response.status_code, response.json()["code"]) == (413, "attachment_too_large")
    assert not Attachment.objects.exists()
    assert files_in(settings.MEDIA_ROOT) == []


def test_upload_of_exactly_the_size_limit_is_accepted(auth_client, settings, chat_overrides):
    chat_overrides.ATTACHMENT_MAX_BYTES = 1000

    response = upload(auth_client, b"y" * 1000, name="edge.txt")

    assert (response.status_code, response.json()["size"]) == (201, 1000)


def test_upload_of_a_json_body_is_415(auth_client):
    response = auth_client.post("/api/attachments", {"file": "aGVsbG8="}, format="json")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert response.json()["error"]
    assert not Attachment.objects.exists()


def test_upload_without_the_file_field_is_bad_request(auth_client):
    response = auth_client.post("/api/attachments", {"document": "not a file"}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["error"].startswith("file:")
    assert not Attachment.objects.exists()


def test_upload_of_a_malformed_multipart_body_is_bad_request(auth_client):
    response = auth_client.generic(
        "POST", "/api/attachments", b"no boundary here", content_type="multipart/form-data"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_upload")
    assert not Attachment.objects.exists()


def test_upload_without_token_is_unauthorized(api_client):
    response = upload(api_client, PNG)

    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert not Attachment.objects.exists()


def test_upload_over_the_rate_is_429_with_retry_after(auth_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "attachments": "2/min",
        },
    }
    for _ in range(2):
        assert upload(auth_client, PNG).status_code == 201

    response = upload(auth_client, PNG)

    assert (response.status_code, response.json()) == (
        429,
        {"error": "rate limit exceeded", "code": "rate_limited"},
    )
    assert 1 <= int(response["Retry-After"]) <= 61
    assert Attachment.objects.count() == 2


def test_upload_rate_is_counted_per_user(auth_client, make_client, bob, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "attachments": "1/min",
        },
    }
    assert upload(auth_client, PNG).status_code == 201

    assert upload(make_client(bob), PNG).status_code == 201


# --- sending with attachment_ids ---------------------------------------------------------------------


def test_send_with_own_unsent_uploads_attaches_them_in_the_payload(auth_client, user, chat):
    photo, notes = stored(user), stored(user, TEXT, "notes.txt")

    response = send(auth_client, chat, attachment_ids=[photo.pk, notes.pk])

    assert response.status_code == 200, response.json()
    message = Message.objects.get(chat=chat)
    assert set(message.attachments.values_list("pk", flat=True)) == {photo.pk, notes.pk}
    assert sorted(response.json()["attachments"], key=lambda a: a["id"]) == [
        attachment_payload(photo),
        attachment_payload(notes),
    ]


def test_send_with_uploads_broadcasts_new_message_listing_them(chat_events, user, bob):
    chat = private_chat(user, bob)
    photo = stored(user)

    message = services.message_send(chat_id=chat.pk, sender=user, content="look", attachment_ids=[photo.pk])

    (event,) = [e for e in chat_events if e.event == "new_message"]
    assert event.group == f"chat.{chat.pk}"
    assert event.payload["id"] == message.pk
    assert event.payload["attachments"] == [attachment_payload(photo)]


def test_history_lists_a_messages_attachments(auth_client, user, chat):
    photo = stored(user)
    send(auth_client, chat, attachment_ids=[photo.pk])

    (message,) = auth_client.get("/api/messages/get", {"chat_id": chat.pk}).json()["messages"]

    assert message["attachments"] == [attachment_payload(photo)]


@pytest.mark.parametrize("case", ["someone_elses", "already_sent", "unknown", "one_bad_among_good"])
def test_send_with_an_attachment_that_is_not_yours_to_send_is_400_and_stores_no_message(
    auth_client, user, bob, chat, case
):
    mine = stored(user)
    if case == "someone_elses":
        ids = [stored(bob).pk]
    elif case == "already_sent":
        services.message_send(chat_id=chat.pk, sender=user, content="first", attachment_ids=[mine.pk])
        ids = [mine.pk]
    elif case == "unknown":
        ids = [987654321]
    else:
        ids = [mine.pk, stored(bob).pk]
    messages_before = Message.objects.count()

    response = send(auth_client, chat, content="second", attachment_ids=ids)

    assert (response.status_code, response.json()) == (400, INVALID_ATTACHMENT)
    assert Message.objects.count() == messages_before
    assert Chat.objects.get(pk=chat.pk).last_seq == messages_before
    assert Attachment.objects.filter(pk__in=ids, message__isnull=False).count() == (case == "already_sent")


def test_send_with_more_attachments_than_allowed_is_bad_request(
    auth_client, user, chat, settings, chat_overrides
):
    chat_overrides.ATTACHMENTS_PER_MESSAGE = 2
    ids = [stored(user).pk for _ in range(3)]

    response = send(auth_client, chat, attachment_ids=ids)

    assert (response.status_code, response.json()) == (
        400,
        {"error": "at most 2 attachments per message", "code": "invalid_attachment"},
    )
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_of_one_upload_attach_it_to_exactly_one_message(user, bob, carol):
    # Two chats, so the chat locks do not serialise the sends: the conditional UPDATE decides.
    chats = [private_chat(user, bob), private_chat(user, carol)]
    photo = stored(user)

    results = run_in_threads(
        2,
        lambda i: services.message_send(
            chat_id=chats[i].pk, sender=user, content=f"race {i}", attachment_ids=[photo.pk]
        ),
    )

    sent = [r for r in results if isinstance(r, Message)]
    refused = [r for r in results if isinstance(r, InvalidAttachmentError)]
    assert (len(sent), len(refused)) == (1, 1), results
    assert Message.objects.count() == 1
    assert Attachment.objects.get(pk=photo.pk).message_id == sent[0].pk


# --- GET /api/attachments/{id}/download -----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "content_type", "disposition"),
    [
        (PNG, "cat.png", "image/png", 'inline; filename="cat.png"'),
        (WEBP, "cat.webp", "image/webp", 'inline; filename="cat.webp"'),
        (PDF, "plan.pdf", "application/pdf", 'attachment; filename="plan.pdf"'),
        (TEXT, "notes.txt", "text/plain; charset=utf-8", 'attachment; filename="notes.txt"'),
    ],
    ids=["png", "webp", "pdf", "text"],
)
def test_download_by_a_member_returns_the_bytes_with_safe_headers(
    make_client, user, bob, chat, data, name, content_type, disposition
):
    attachment = stored(user, data, name)
    services.message_send(chat_id=chat.pk, sender=user, content="file", attachment_ids=[attachment.pk])

    response = make_client(bob).get(f"/api/attachments/{attachment.pk}/download")

    assert response.status_code == 200
    assert body_of(response) == data
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Content-Length"] == str(len(data))


def test_download_of_an_unsent_upload_by_its_uploader_returns_the_bytes(auth_client, user):
    attachment = stored(user, PDF, "draft.pdf")

    response = auth_client.get(f"/api/attachments/{attachment.pk}/download")

    assert response.status_code == 200
    assert body_of(response) == PDF


def test_download_of_someone_elses_unsent_upload_is_not_found(auth_client, bob):
    attachment = stored(bob)

    response = auth_client.get(f"/api/attachments/{attachment.pk}/download")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_download_by_a_non_member_is_not_found(make_client, user, bob, carol, chat):
    attachment = stored(user)
    services.message_send(chat_id=chat.pk, sender=user, content="private", attachment_ids=[attachment.pk])

    response = make_client(carol).get(f"/api/attachments/{attachment.pk}/download")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_download_by_a_removed_member_is_not_found(make_client, user, bob, carol):
    team = group_chat(user, bob, carol)
    attachment = stored(user)
    services.message_send(chat_id=team.pk, sender=user, content="team only", attachment_ids=[attachment.pk])
    chat_services.member_remove(chat_id=team.pk, actor=user, user_id=carol.pk)

    response = make_client(carol).get(f"/api/attachments/{attachment.pk}/download")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_download_of_a_missing_attachment_is_not_found(auth_client):
    response = auth_client.get("/api/attachments/987654321/download")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_download_without_token_is_unauthorized(api_client, user):
    attachment = stored(user)

    assert api_client.get(f"/api/attachments/{attachment.pk}/download").status_code == 401


def test_download_whose_stored_file_is_gone_is_not_found(auth_client, user):
    attachment = stored(user)
    default_storage.delete(attachment.file.name)

    response = auth_client.get(f"/api/attachments/{attachment.pk}/download")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# --- deleting the message erases its attachments ----------------------------------------------------


@pytest.fixture
def sent_photo(user, chat):
    """(message, attachment): a photo sent by user in chat."""
    photo = stored(user)
    message = services.message_send(chat_id=chat.pk, sender=user, content="photo", attachment_ids=[photo.pk])
    return message, photo


def test_message_delete_removes_the_attachment_rows_and_files(
    user, sent_photo, django_capture_on_commit_callbacks
):
    message, photo = sent_photo
    name = photo.file.name

    with django_capture_on_commit_callbacks(execute=True):
        services.message_delete(message_id=message.pk, actor=user)

    assert not Attachment.objects.filter(pk=photo.pk).exists()
    assert not default_storage.exists(name)


def test_message_delete_keeps_the_attachment_and_file_when_it_rolls_back(
    user, sent_photo, django_capture_on_commit_callbacks
):
    message, photo = sent_photo

    def delete_then_fail():
        with transaction.atomic():
            services.message_delete(message_id=message.pk, actor=user)
            raise RuntimeError("roll back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        delete_then_fail()

    assert Attachment.objects.get(pk=photo.pk).message_id == message.pk
    assert default_storage.exists(photo.file.name)


def test_deleted_message_payload_lists_no_attachments(auth_client, user, chat, sent_photo):
    message, _ = sent_photo

    assert auth_client.delete(f"/api/messages/{message.pk}").status_code == 204

    (tombstone,) = auth_client.get("/api/messages/get", {"chat_id": chat.pk}).json()["messages"]
    assert (tombstone["deleted"], tombstone["attachments"]) == (True, [])


def test_download_after_the_message_is_deleted_is_not_found(make_client, user, bob, sent_photo):
    message, photo = sent_photo
    services.message_delete(message_id=message.pk, actor=user)

    response = make_client(bob).get(f"/api/attachments/{photo.pk}/download")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# --- manage.py cleanup_attachments ---------------------------------------------------------------


def _age(attachment, hours):
    Attachment.objects.filter(pk=attachment.pk).update(created_at=timezone.now() - timedelta(hours=hours))


def test_cleanup_deletes_old_unsent_uploads_with_their_files(
    user, settings, django_capture_on_commit_callbacks, chat_overrides
):
    chat_overrides.ATTACHMENT_UNSENT_MAX_AGE_HOURS = 24
    old = stored(user)
    _age(old, 25)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_attachments", stdout=io.StringIO())

    assert not Attachment.objects.filter(pk=old.pk).exists()
    assert not default_storage.exists(old.file.name)


def test_cleanup_keeps_sent_and_young_uploads(
    user, chat, settings, django_capture_on_commit_callbacks, chat_overrides
):
    chat_overrides.ATTACHMENT_UNSENT_MAX_AGE_HOURS = 24
    sent, young = stored(user), stored(user)
    services.message_send(chat_id=chat.pk, sender=user, content="kept", attachment_ids=[sent.pk])
    _age(sent, 100)
    _age(young, 23)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_attachments", stdout=io.StringIO())

    assert set(Attachment.objects.values_list("pk", flat=True)) == {sent.pk, young.pk}
    assert default_storage.exists(sent.file.name)
    assert default_storage.exists(young.file.name)


def test_cleanup_reports_how_many_it_deleted(user, capsys):
    for attachment in (stored(user), stored(user)):
        _age(attachment, 48)

    call_command("cleanup_attachments", "--older-than-hours", "24")

    assert capsys.readouterr().out.strip() == "deleted 2 unsent attachment(s) older than 24 h"


def test_send_of_an_upload_the_cleanup_removed_is_bad_request(auth_client, user, chat):
    old = stored(user)
    _age(old, 48)
    call_command("cleanup_attachments", "--older-than-hours", "24", stdout=io.StringIO())

    response = send(auth_client, chat, attachment_ids=[old.pk])

    assert (response.status_code, response.json()) == (400, INVALID_ATTACHMENT)
    assert not Message.objects.exists()


# --- S3-compatible storage by configuration ----------------------------------------------------------


def test_bucket_setting_switches_default_storage_to_s3_without_a_network_call():
    code = (
        "import django; django.setup()\n"
        "from django.core.files.storage import storages\n"
        "s = storages['default']\n"
        "print(f'{type(s).__module__}.{type(s).__name__}', s.bucket_name, s.endpoint_url, s.location,"
        " s.default_acl, s.file_overwrite)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "chatproject.settings",
        "DEBUG": "1",
        "AWS_STORAGE_BUCKET_NAME": "chat-attachments",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:1",  # nothing listens: any request would fail
        "AWS_LOCATION": "uploads",
    }

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "storages.backends.s3.S3Storage",
        "chat-attachments",
        "http://127.0.0.1:1",
        "uploads",
        "None",
        "False",
    ]
