"""The user model: email is the login, username a display name."""

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import MinLengthValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    """Creates users and superusers by email."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        """Create a user with a hashed password."""
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        """Create a staff superuser."""
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("username", email.split("@")[0][:100] or "admin")
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> "User":
        """Log in by email, case-insensitively (admin login uses this)."""
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who chats."""

    email = models.EmailField(max_length=255)
    username = models.CharField(max_length=100, validators=[MinLengthValidator(1)])
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Moved on by each password change; tokens carry the value they were issued at (accounts.sessions).
    credentials_generation = models.PositiveIntegerField(default=0)
    # The session that changed the password last: its tokens of earlier generations stay valid.
    credentials_session = models.CharField(max_length=32, blank=True, default="")

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["username"]

    class Meta:
        constraints: ClassVar = [
            # Case-insensitive uniqueness in the database, so a registration race cannot create two.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]
        # Moderators ban without `change_user`, which would let them edit staff flags and passwords.
        permissions: ClassVar = [("ban_user", "Can ban and unban users")]

    def __str__(self) -> str:
        return self.email
