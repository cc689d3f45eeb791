from rest_framework import serializers

from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "seq",
            "subject_kind",
            "subject_id",
            "event_type",
            "phase",
            "role",
            "actor",
            "payload",
            "occurred_at",
            "workflow_id",
            "run_id",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields
