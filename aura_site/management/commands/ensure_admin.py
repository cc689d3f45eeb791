import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Make sure an admin user exists: AURA_ADMIN_USER / AURA_ADMIN_PASSWORD when set, else "
        "'admin' with a generated password printed once and kept in .aura/admin-password."
    )

    def handle(self, *args, **options) -> None:
        username = os.environ.get("AURA_ADMIN_USER") or "admin"
        password = os.environ.get("AURA_ADMIN_PASSWORD") or ""
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is not None:
            if password and not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(
                    f"Admin user {username!r}: password set from AURA_ADMIN_PASSWORD."
                )
            else:
                self.stdout.write(f"Admin user {username!r} exists.")
            return
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        if generated:
            path = settings.STATE_DIR / "admin-password"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{username}\n{password}\n")
            path.chmod(0o600)
            self.stdout.write(
                f"Created admin user {username!r} with password {password!r} "
                f"(printed once; kept in {path})."
            )
        else:
            self.stdout.write(
                f"Created admin user {username!r} (password from AURA_ADMIN_PASSWORD)."
            )
