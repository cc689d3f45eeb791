from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_and_record


class Command(BaseCommand):
    help = (
        "Walk the audit trail's hash chain and prove it intact, or name the first row that was "
        "altered or removed. Exits 1 when the chain is broken. Every run is stored "
        "(AuditVerification) for the metrics and the dashboard."
    )

    def handle(self, *args, **options) -> None:
        report = verify_and_record()
        if not report.intact:
            row = f"row #{report.broken_seq}" + (
                f" ({report.broken_id})" if report.broken_id else ""
            )
            raise CommandError(
                f"audit chain broken at {row}: {report.reason} "
                f"({report.checked} rows verified before it)"
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.checked} rows verified.")
        )
