"""Password hashers."""

from django.contrib.auth.hashers import BCryptSHA256PasswordHasher


class BCryptSHA256Cost10PasswordHasher(BCryptSHA256PasswordHasher):
    """bcrypt (SHA-256 pre-hashed, so long passwords are not truncated) at cost 10, as the seed specifies."""

    rounds = 10
