"""Static files, uploads and the storage they go to."""

from typing import Any

from .base import BASE_DIR, DEBUG, env

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
# collectstatic writes here and whitenoise serves from here (the browser tests point it at a temporary copy).
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Attachments (messaging: POST /api/attachments) -----------------------------------------
# Uploads are stored through Django's storage API: local files under MEDIA_ROOT by default, never
# served from there directly (GET /api/attachments/{id}/download checks membership and streams).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# An S3-compatible bucket instead of local files (django-storages; credentials from boto3's usual
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables or instance role).
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "location": env.str("AWS_LOCATION", default=""),
            # Objects stay private (the bucket's policy decides); names are random, never overwritten.
            "default_acl": None,
            "file_overwrite": False,
        },
    }
