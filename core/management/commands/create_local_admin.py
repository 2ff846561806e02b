import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser with a random password on first run and print it once; "
        "on later runs print where to log in."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--admin-url", default="http://127.0.0.1:8000/admin/")

    def handle(self, *args, username, admin_url, **options):
        User = get_user_model()
        superuser = User.objects.filter(is_superuser=True).order_by("pk").first()
        if superuser:
            name = superuser.get_username()
            self.stdout.write(
                f"  Admin:      {admin_url} (user name {name})\n"
                f"              Forgot the password? Set a new one: manage.py changepassword {name}"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"  Admin:      {admin_url}")
        self.stdout.write(
            self.style.SUCCESS(
                f"  User name:  {username}\n"
                f"  Password:   {password}   (shown only this once: note it now)"
            )
        )
