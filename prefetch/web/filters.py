"""The filters of the run and record lists, one definition for the API (through DRF's filter
backend) and the pages (which ignore a value that does not validate and show the list unfiltered)."""

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from addons.web.api_conventions import MAX_INT
from prefetch.models import PrefetchRecord, Run, RunStatus, RunTrigger

RECORD_STATUSES = ("ok", "empty", "failed", "never")


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_INT})
class IdFilter(django_filters.Filter):
    """A database id given by the client: 1 … MAX_INT (an integer, not the default decimal)."""

    field_class = forms.IntegerField

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_INT, **kwargs)


class RunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    trigger = django_filters.ChoiceFilter(choices=RunTrigger.choices)

    class Meta:
        model = Run
        fields = ["status", "trigger"]


class RecordFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", max_length=300, help_text="Part of a title or a video id.")
    status = django_filters.ChoiceFilter(choices=[(s, s) for s in RECORD_STATUSES], method="filter_state")
    addon = django_filters.CharFilter(
        field_name="addon_key", help_text="An addon's key (records of that stream addon only).",
        validators=[RegexValidator(r"^[0-9a-f]{40}$", "Use an addon key: 40 hex digits.")],
    )
    run = IdFilter(method="filter_run", help_text="Only records last attempted during this run.")

    class Meta:
        model = PrefetchRecord
        fields = ["q", "status", "addon", "run"]

    def filter_text(self, records, name, q):
        q = q.strip()
        return records.filter(Q(title__icontains=q) | Q(video_id__icontains=q)) if q else records

    def filter_state(self, records, name, state):
        if state == "ok":
            return records.filter(last_success__isnull=False, stream_count__gt=0)
        if state == "empty":
            return records.filter(last_success__isnull=False, stream_count=0)
        if state == "failed":
            return records.exclude(last_error="")
        return records.filter(last_success__isnull=True)  # never

    def filter_run(self, records, name, run_id):
        """Records last attempted during the run (so `failed` lists what the run left failed and no
        later run has requested again)."""
        run = Run.objects.filter(pk=run_id, started_at__isnull=False).first()
        if run is None:
            return records.none()
        records = records.filter(last_attempt__gte=run.started_at)
        return records.filter(last_attempt__lte=run.finished_at) if run.finished_at else records

    @property
    def qs(self):
        return super().qs.order_by("-last_attempt", "-id")


class ListFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing a bad filter and a bad limit or offset in one 400 that names
    every wrong parameter (not only the first one checked)."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        errors = dict(filterset.errors) if filterset is not None and not filterset.is_valid() else {}
        if view.paginator is not None:
            errors |= view.paginator.refusals(request)
        if errors:
            raise serializers.ValidationError(errors)
        return queryset if filterset is None else filterset.qs
