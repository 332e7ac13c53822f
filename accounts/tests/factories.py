"""Test factories for accounts."""

import factory

from accounts.models import User

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    """An active user with password DEFAULT_PASSWORD."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.Sequence(lambda n: f"user{n}")
    # Hashed before the first save: a password set on an existing user is a change, which moves the
    # credentials generation on and ends the sessions of tokens issued before it (accounts.lifecycle).
    password = factory.django.Password(DEFAULT_PASSWORD)
