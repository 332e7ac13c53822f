"""The `ban_user` permission and the Moderators group with exactly what moderation in the admin needs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Moderators"

# (app_label, codename). Frozen here on purpose: a migration must not change when app code does.
# change_chat is needed to submit a chat's member inline; ChatAdmin keeps every Chat field read-only.
# delete_message is the soft delete (messaging.services.message_delete); MessageAdmin never hard-deletes.
MODERATOR_PERMISSIONS = [
    ("accounts", "view_user"),
    ("accounts", "ban_user"),
    ("chats", "view_chat"),
    ("chats", "change_chat"),
    ("chats", "view_chatmember"),
    ("chats", "add_chatmember"),
    ("chats", "change_chatmember"),
    ("chats", "delete_chatmember"),
    ("messaging", "view_message"),
    ("messaging", "delete_message"),
    ("admin", "view_logentry"),
]


def create_moderators(apps, schema_editor):
    # Permissions are normally created after `migrate` finishes (post_migrate); on a fresh database
    # they do not exist yet, so create them now for the apps the group needs.
    for label in {app for app, _ in MODERATOR_PERMISSIONS}:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    permissions = []
    for app_label, codename in MODERATOR_PERMISSIONS:
        permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    group.permissions.set(permissions)


def delete_moderators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("chats", "0001_initial"),
        ("messaging", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="user",
            options={"permissions": [("ban_user", "Can ban and unban users")]},
        ),
        migrations.RunPython(create_moderators, delete_moderators),
    ]
