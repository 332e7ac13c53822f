"""The user model: email is the login, username a display name.

The rules that end a user's sessions live here, in save() and delete(), so that every path (the
API, the admin's forms and actions, `manage.py changepassword`, ORM save() and delete()) obeys them:
a new password hash ends every session (but the one named by change_password), deactivation ends all
of them, and deletion erases the user's history first (actions.users).
"""

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import MinLengthValidator
from django.db import models, transaction
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
    # Sessions ended one by one (logout, refresh-token reuse): {session id: unix time until which tokens
    # of it may still be alive}. Kept on the row so the per-request user cache carries it (no query).
    ended_sessions = models.JSONField(default=dict, blank=True)

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

    # Set while Django rehashes the same password (check_password), and by change_password().
    _rehashing = False
    _keep_session = ""

    # --- the session rules (accounts.lifecycle does the side effects) ------------------------------

    def change_password(self, raw_password: str, *, keep_session: str = "") -> None:
        """set_password(), keeping the login session `keep_session` alive when saved (the API's own change)."""
        self.set_password(raw_password)
        self._keep_session = keep_session

    def check_password(self, raw_password: str) -> bool:
        """Django's check; its transparent rehash of the same password (a hasher upgrade) ends no session."""
        self._rehashing = True
        try:
            return super().check_password(raw_password)
        finally:
            self._rehashing = False

    async def acheck_password(self, raw_password: str) -> bool:
        """As check_password."""
        self._rehashing = True
        try:
            return await super().acheck_password(raw_password)
        finally:
            self._rehashing = False

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; a new password hash or a deactivation ends sessions (accounts.lifecycle), in one transaction."""
        from accounts import lifecycle

        if self.pk is None:
            super().save(*args, **kwargs)
            return
        update_fields = kwargs.get("update_fields")
        with transaction.atomic(using=kwargs.get("using")):
            change = lifecycle.pending_change(self, update_fields)
            if change.password and update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "credentials_generation", "credentials_session"}
            super().save(*args, **kwargs)
            lifecycle.apply_change(self, change)
        self._keep_session = ""
