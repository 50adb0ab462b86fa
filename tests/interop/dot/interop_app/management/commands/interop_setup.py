"""Create (or reset) the fixed interop accounts. Idempotent: safe to run on every start."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management.base import BaseCommand
from django.db import transaction
from oauth2_provider.models import get_application_model

USERNAME = "interop"
PASSWORD = "interop-pass-1"

# (client_id, client_secret, grant type, name)
APPLICATIONS = [
    ("runner-interop", "interop-secret-1", "password", "runner interop (password + refresh)"),
    ("runner-cc", "cc-secret-1", "client-credentials", "runner interop (client credentials)"),
]


class Command(BaseCommand):
    help = "Create the interop user and the two confidential DOT applications."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=USERNAME)
        if created or not user.check_password(PASSWORD) or not user.is_active:
            user.set_password(PASSWORD)
            user.is_active = True
            user.save()
        self.stdout.write(f"user {USERNAME}: {'created' if created else 'ok'}")

        Application = get_application_model()
        for client_id, secret, grant, name in APPLICATIONS:
            app, created = Application.objects.get_or_create(
                client_id=client_id,
                defaults={
                    "name": name,
                    "client_type": Application.CLIENT_CONFIDENTIAL,
                    "authorization_grant_type": grant,
                    "client_secret": secret,
                    "user": user,
                },
            )
            # DOT hashes client secrets on save (hash_client_secret=True, the default);
            # the plain secret is what clients send, DOT checks it against the hash.
            changed = False
            if app.client_type != Application.CLIENT_CONFIDENTIAL:
                app.client_type, changed = Application.CLIENT_CONFIDENTIAL, True
            if app.authorization_grant_type != grant:
                app.authorization_grant_type, changed = grant, True
            if not check_password(secret, app.client_secret):
                app.client_secret, changed = secret, True
            if changed:
                app.save()
            self.stdout.write(
                f"application {client_id} ({grant}, confidential): "
                f"{'created' if created else ('updated' if changed else 'ok')}"
            )
