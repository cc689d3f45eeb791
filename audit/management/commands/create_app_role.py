import os

from django.core.management.base import BaseCommand, CommandError

from audit import roles


class Command(BaseCommand):
    help = (
        "Create or update the PostgreSQL role the web server and workers connect as: no "
        "superuser, owning nothing, rows only (no UPDATE/DELETE on the audit trail). Run it as "
        "the role that runs the migrations, after each `migrate`; it is idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="the role's name, e.g. aura_app")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="set the role's password from this environment variable",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print the SQL (password hidden), run nothing"
        )

    def handle(self, *args, name: str, password_env: str | None, dry_run: bool, **options):
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"the environment variable {password_env} is unset or empty")
        try:
            plan = roles.plan(name, password="********" if dry_run and password else password)
        except roles.RoleRefused as exc:
            raise CommandError(str(exc)) from exc
        if dry_run:
            for statement in roles.render(plan):
                self.stdout.write(f"{statement};")
            self.stdout.write(f"Dry run: role {name!r} {'exists' if plan.exists else 'is new'}.")
            return
        roles.apply(plan)
        verb = "updated" if plan.exists else "created"
        self.stdout.write(
            self.style.SUCCESS(f"Role {name!r} {verb}: {len(plan.statements)} statements run.")
        )
