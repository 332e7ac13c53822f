"""Uploaded files: what type their content really is, a safe display name, and the upload size guard.

The type comes from the bytes (magic numbers, or a full UTF-8 check for text that does not start
like HTML or XML), never from the client's Content-Type or file name. Five magic numbers and a text
check need no dependency: python-magic needs libmagic, and the pure-Python sniffers know hundreds of
types we refuse anyway.
"""

import codecs
import unicodedata
from typing import IO, Any

from django.core.files.uploadhandler import FileUploadHandler

from chatproject.conf import chat_settings
from messaging.errors import AttachmentTooLargeError

# Allowed types and the extension their stored (random) file names get.
EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}
# Shown inline by browsers; everything else is downloaded (Content-Disposition: attachment).
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
# C0 controls other than tab, line feed, form feed and carriage return, and DEL: binary, not text.
_NOT_TEXT = frozenset(chr(c) for c in [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
_CHUNK = 64 * 1024
# What starts an HTML document for a browser that sniffs (each followed by a space or ">"), upper-cased.
_HTML_TAGS = tuple(
    b"<" + tag
    for tag in (b"!DOCTYPE HTML", b"HTML", b"HEAD", b"SCRIPT", b"IFRAME", b"H1", b"DIV", b"FONT", b"TABLE",
                b"A", b"STYLE", b"TITLE", b"B", b"BODY", b"BR", b"P", b"!--")
)  # fmt: skip
# The spec's resource header is at most 1445 bytes; leading whitespace counts against it.
_MARKUP_HEAD = 1445
FILENAME_MAX_LENGTH = 255
# Multipart framing (boundaries, part headers) around the file, allowed on top of the size limit.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def upload_body_limit() -> tuple[int, dict[str, Any]]:
    """POST /api/attachments' body limit, as the server enforces it (chatproject.server.body_limits):
    ATTACHMENT_MAX_BYTES plus the multipart framing, as UploadSizeGuard counts, and the 413 body past it."""
    limit = chat_settings.ATTACHMENT_MAX_BYTES
    return (
        limit + MULTIPART_OVERHEAD_BYTES,
        AttachmentTooLargeError(f"file is too large (at most {limit} bytes)").as_dict(),
    )


def sniff_content_type(file: IO[bytes]) -> str | None:
    """The allowed type the content is (PNG, JPEG, GIF, WebP, PDF, UTF-8 text), or None. Rewinds `file`.

    Text that starts like an HTML or XML document is None: never stored, so never served.
    """
    file.seek(0)
    head = file.read(16)
    try:
        for magic, content_type in _MAGIC:
            if head.startswith(magic):
                return content_type
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return "image/webp"
        if _looks_like_markup(file):
            return None
        return "text/plain" if _is_utf8_text(file) else None
    finally:
        file.seek(0)


def _looks_like_markup(file: IO[bytes]) -> bool:
    """The content starts as a browser would sniff HTML or XML (WHATWG MIME Sniffing's patterns).

    Downloads are served as text/plain with nosniff and a sandbox CSP, so this is defence in depth:
    a client that ignores those headers still never gets an HTML page from us.
    """
    file.seek(0)
    start = file.read(_MARKUP_HEAD).removeprefix(b"\xef\xbb\xbf").lstrip(b"\t\n\x0c\r ").upper()
    if start.startswith(b"<?XML"):
        return True
    return any(start.startswith(tag) and start[len(tag) : len(tag) + 1] in {b" ", b">"} for tag in _HTML_TAGS)


def _is_utf8_text(file: IO[bytes]) -> bool:
    """The whole file decodes as UTF-8 and holds no control characters but whitespace."""
    file.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        while chunk := file.read(_CHUNK):
            if not _NOT_TEXT.isdisjoint(decoder.decode(chunk)):
                return False
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def clean_filename(name: str, content_type: str) -> str:
    """A display name: the last path part, without control or format characters, at most 255 characters.

    Format characters include U+202E (right-to-left override), which can disguise "gnp.exe" as "exe.png".
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not base:
        return "attachment" + EXTENSIONS.get(content_type, "")
    if len(base) > FILENAME_MAX_LENGTH:
        stem, dot, extension = base.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            return stem[: FILENAME_MAX_LENGTH - len(extension) - 1] + "." + extension
        return base[:FILENAME_MAX_LENGTH]
    return base


class UploadLimitHandler(FileUploadHandler):
    """First upload handler of POST /api/attachments: stop a request whose files exceed the limit.

    A declared Content-Length over the limit is refused before any of the body is parsed; otherwise
    file bytes are counted as they stream (across all files of the request) and parsing stops at the
    first byte over. The next handlers (memory, then a temporary file past FILE_UPLOAD_MAX_MEMORY_SIZE)
    store the rest, so an upload is never held in memory whole.
    """

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit = chat_settings.ATTACHMENT_MAX_BYTES
        self.received = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803 - Django's parameter name
        content_length: int,
        boundary: bytes | str,  # Django passes bytes; django-stubs says str
        encoding: str | None = None,
    ) -> None:
        """Refuse a body whose declared length cannot fit the limit."""
        if content_length > self.limit + MULTIPART_OVERHEAD_BYTES:
            raise AttachmentTooLargeError(f"file is too large (at most {self.limit} bytes)")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        """Count and pass the chunk on to the next handler."""
        self.received += len(raw_data)
        if self.received > self.limit:
            raise AttachmentTooLargeError(f"file is too large (at most {self.limit} bytes)")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        """The next handlers build the file."""
        return None
