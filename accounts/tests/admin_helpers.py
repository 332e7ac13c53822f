"""Shared pieces of the admin and moderation tests: moderators, plain staff, logged-in clients."""

import importlib
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.models import User
from accounts.tests.factories import UserFactory

MODERATORS = "Moderators"


@pytest.fixture(autouse=True)
def plain_static_storage(settings: Any) -> None:
    """Tests run with DEBUG off, whose manifest storage needs collectstatic; admin pages need {% static %}."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def moderators_group() -> Group:
    """The Moderators group made by accounts/migrations/0002, re-made the same way if it is missing.

    Transactional tests end with a flush that empties every table, so rows written by data
    migrations are gone for the transactional tests after them (permissions are re-created).
    """
    group = Group.objects.filter(name=MODERATORS).first()
    if group is None:
        migration = importlib.import_module("accounts.migrations.0002_moderators_group")
        group = Group.objects.create(name=MODERATORS)
        group.permissions.set(
            [
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
                for app_label, codename in migration.MODERATOR_PERMISSIONS
            ]
        )
    return group


def make_moderator(**kwargs: Any) -> User:
    """A staff user in the Moderators group."""
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(moderators_group())
    return user


def make_plain_staff(**kwargs: Any) -> User:
    """A staff user with no group and no permission."""
    return UserFactory(is_staff=True, **kwargs)


def make_superuser(**kwargs: Any) -> User:
    """A superuser."""
    return UserFactory(is_staff=True, is_superuser=True, **kwargs)


def client_for(user: User) -> Client:
    """A Django test client logged in as `user` (session, as in the browser)."""
    client = Client()
    client.force_login(user)
    return client


def action(client: Client, url: str, name: str, ids: list[int], *, follow: bool = False, **extra: Any) -> Any:
    """POST a change-list action on the given ids (`extra` are more form fields)."""
    data = {"action": name, "_selected_action": [str(i) for i in ids], **extra}
    return client.post(url, data, follow=follow)
