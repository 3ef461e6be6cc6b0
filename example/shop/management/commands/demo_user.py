"""Create the demo's staff login for the status page (not monitored: a plain BaseCommand)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create (or reset) a staff user allowed to see the status page at /monitor/."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")

    def handle(self, *args, **options):
        user, _ = get_user_model().objects.get_or_create(username=options["username"])
        user.is_staff = True
        user.set_password(options["password"])
        user.save()
        # Staff alone is not enough: the status page asks for this permission (the admin's
        # "can view command run"), so a real project can grant it to some staff only.
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="monitorkit", codename="view_commandrun")
        )
        self.stdout.write(f"Staff user {user.get_username()!r} can open /monitor/.")
