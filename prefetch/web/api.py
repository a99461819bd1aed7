"""JSON API for job control, live events, run history, prefetch records and log files.

Paths and shapes follow the original tool (`/api/job/*`, `/api/logs*`, `/api/events`), inside the
`success` envelope of `api_common`. Run state changes go through `prefetch.runs` only.
"""

import asyncio
import json
from pathlib import Path

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from addons.web.api_conventions import MAX_INT, IdField, StrictSerializer, by_token, ok, query_params, refused
from prefetch import progress, run_logs
from prefetch.deprecated_names import CATALOG_COUNTS, RUN_COUNTS, statistics_with_old_names
from prefetch.models import PrefetchRecord, Run, RunStatus, RunTrigger
from prefetch.runs.active import active_run
from prefetch.runs.lifecycle import RunRefused, request_cancel, request_pause, request_resume
from prefetch.runs.plan import start_checked_run
from prefetch.web.filters import RecordFilter, RunFilter
from prefetch.web.selectors import (
    STATUS,
    job_status,
    polled_status,
    run_detail,
)

SSE_KEEPALIVE_S = 10.0
OUTPUT_MAX_LINES = 1000


Status = inline_serializer("JobStatus", {"success": serializers.BooleanField(), "status": serializers.DictField()})
Message = inline_serializer(
    "JobMessage", {"success": serializers.BooleanField(), "message": serializers.CharField(), "status": serializers.DictField()}
)


def _list_answer(name: str, key: str, item) -> serializers.Serializer:
    """The answer of a paged list (EnvelopePagination), described as the one object it is."""
    answer = inline_serializer(name, {"success": serializers.BooleanField(), "total": serializers.IntegerField(), key: item})
    extend_schema_serializer(many=False)(type(answer))
    return answer


def _counts(renamed: dict, description: str) -> dict:
    """A free-form object of counts, those renamed described: the old name deprecated."""
    properties = {}
    for new, old in renamed.items():
        properties[new] = {"type": "integer"}
        properties[old] = {"type": "integer", "deprecated": True,
                           "description": f"`{old}` is the old name of `{new}`; it will be removed in the next release."}
    return {"type": "object", "additionalProperties": True, "properties": properties, "description": description}


@extend_schema_field(_counts(RUN_COUNTS, "The run's counts (README: What a run counts)."))
class RunStatistics(serializers.DictField):
    pass


@extend_schema_field(_counts(CATALOG_COUNTS, "One catalog's counts, with up to five sample ids per reason "
                                             "(`samples`; `samples.embedded` is deprecated as `embedded` is)."))
class CatalogResult(serializers.DictField):
    pass


RunsAnswer = _list_answer("RunList", "runs", inline_serializer("RunRow", {"statistics": RunStatistics()}, many=True))


def _ms(**kw):
    return serializers.FloatField(allow_null=True, **kw)


# A run's per-addon pace and its measured effect, described field by field (the rest of the run stays a
# free-form object).
RUN_ADDON_FIELDS = {
    "name": serializers.CharField(), "requests": serializers.IntegerField(),
    "latency_ms_p50": _ms(), "latency_ms_p95": _ms(),
    "pace": serializers.ChoiceField(["fixed", "adaptive"], help_text="The addon's concurrency mode in this run."),
    "concurrency_limit": serializers.IntegerField(help_text="Requests in flight allowed now (at the end, for a finished run)."),
    "concurrency_ceiling": serializers.IntegerField(required=False, help_text="Adaptive: the most the limit may reach."),
    "concurrency_peak": serializers.IntegerField(required=False, help_text="Adaptive: the highest limit reached."),
    "floor_ms": _ms(required=False, help_text="Adaptive: the addon's answer-time floor in this run."),
    "limit_cuts": serializers.DictField(child=serializers.IntegerField(), required=False,
                                        help_text="Adaptive: cuts by cause (refused, timeout, queueing)."),
    "limit_history": serializers.ListField(child=serializers.IntegerField(), required=False,
                                           help_text="Adaptive: the last 60 values of the limit."),
}
VERIFIED_ADDON_FIELDS = {
    "name": serializers.CharField(), "sampled": serializers.IntegerField(), "verified": serializers.IntegerField(),
    "failed": serializers.IntegerField(), "cold_ms_p50": _ms(), "cold_ms_p95": _ms(), "warm_ms_p50": _ms(),
    "warm_ms_p95": _ms(),
}
Verification = inline_serializer("Verification", {
    "sample_size": serializers.IntegerField(), "addons": inline_serializer("VerifiedAddon", VERIFIED_ADDON_FIELDS, many=True),
}, allow_null=True, help_text="Streams of the run requested again after it (null: not verified).")
RunAnswer = inline_serializer("RunOne", {"success": serializers.BooleanField(), "run": inline_serializer("RunDetail", {
    "id": serializers.IntegerField(), "status": serializers.CharField(), "statistics": RunStatistics(),
    "catalogs": serializers.ListField(child=CatalogResult()),
    "addons": inline_serializer("RunAddon", RUN_ADDON_FIELDS, many=True), "verification": Verification,
    "verification_lines": serializers.ListField(child=serializers.CharField(),
                                                help_text='"Comet: cold p50 2.3 s → warm p50 80 ms, 20 sampled"'),
})})
InvalidatedAnswer = inline_serializer("RecordsInvalidated", {"success": serializers.BooleanField(), "invalidated": serializers.IntegerField()})


class LogRow(serializers.Serializer):
    """A per-run log file, as the original tool listed it."""

    filename = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    modified = serializers.DateTimeField(help_text="The file's last change, in the server's time zone.")


LogsAnswer = _list_answer("LogList", "logs", LogRow(many=True))
LogsDeleted = inline_serializer("LogsDeleted", {"success": serializers.BooleanField(), "deleted": serializers.IntegerField()})
LogAnswer = inline_serializer("LogFile", {"success": serializers.BooleanField(), "filename": serializers.CharField(),
                                          "total_lines": serializers.IntegerField(), "offset": serializers.IntegerField(),
                                          "lines": serializers.ListField(child=serializers.DictField()), "content": serializers.CharField()})
LogDeleted = inline_serializer("LogDeleted", {"success": serializers.BooleanField(), "message": serializers.CharField()})


class JobStatusView(APIView):
    @extend_schema(responses=Status, summary="Current (or last) run, its live snapshot and the next scheduled run")
    def get(self, request):
        return Response(ok(status=polled_status()))


class JobRunView(APIView):
    @extend_schema(request=None, responses={200: Message}, summary="Start a run now")
    def post(self, request):
        try:
            start_checked_run(RunTrigger.API if by_token(request) else RunTrigger.MANUAL)
        except RunRefused as refusal:
            return refused(str(refusal), fix=refusal.fix)
        return Response(ok(message="Job started successfully", status=STATUS.refresh()))


class _ControlView(APIView):
    allowed: tuple = ()
    refusal = ""
    done = ""
    event = ""

    def act(self, run: Run) -> bool:
        raise NotImplementedError

    @extend_schema(request=None, responses={200: Message})
    def post(self, request):
        run = active_run()
        if run is None or (self.allowed and run.status not in self.allowed) or not self.act(run):
            return refused(self.refusal)
        run.refresh_from_db()
        progress.publish_run(run.pk, self.event if run.is_active else "finished")  # a queued run ends at once
        return Response(ok(message=self.done, status=STATUS.refresh()))


class JobCancelView(_ControlView):
    refusal, done, event = "No running job to cancel", "Job cancelled", "cancelling"

    def act(self, run):
        return request_cancel(run)


class JobPauseView(_ControlView):
    allowed = (RunStatus.RUNNING,)
    refusal, done, event = "Job is not running", "Pause requested", "pausing"

    def act(self, run):
        return request_pause(run)


class JobResumeView(_ControlView):
    allowed = (RunStatus.PAUSING, RunStatus.PAUSED)
    refusal, done, event = "Job is not paused", "Job resumed", "resumed"

    def act(self, run):
        return request_resume(run)


def run_output_lines(run: Run) -> list[str]:
    path = run_logs.safe_path(run.log_file) if run.log_file else None
    if path is not None and path.exists():
        with path.open(encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in handle][-OUTPUT_MAX_LINES:]
    return list((run.progress or {}).get("log_tail") or [])


class JobOutputQuery(serializers.Serializer):
    run = IdField(required=False)
    from_line = serializers.IntegerField(min_value=0, max_value=MAX_INT, default=0)


class JobOutputView(APIView):
    @extend_schema(
        parameters=[JobOutputQuery],
        responses=inline_serializer("JobOutput", {"success": serializers.BooleanField(), "output": serializers.DictField()}),
        summary="The current (or given) run's log lines, redacted",
    )
    def get(self, request):
        params = query_params(JobOutputQuery, request)
        if "run" in params:
            run = get_object_or_404(Run, pk=params["run"])
        else:
            run = active_run() or Run.objects.exclude(status=RunStatus.SKIPPED).first()
        lines = run_output_lines(run) if run else []
        start = params["from_line"]
        return Response(ok(run_id=run.pk if run else None,
                            output={"lines": lines[start:], "total_lines": len(lines), "from_line": start}))


# --- runs ---------------------------------------------------------------------------------------------
class RunRow(serializers.BaseSerializer):
    def to_representation(self, run):
        return progress.run_payload(run) | {"statistics": statistics_with_old_names(run.statistics)}


class RunListView(generics.ListAPIView):
    queryset = Run.objects.all()
    serializer_class = RunRow
    filterset_class = RunFilter
    results_key, default_limit = "runs", 50

    @extend_schema(summary="Run history, newest first", responses=RunsAnswer, operation_id="runs_list")
    def get(self, request):
        return super().get(request)


class RunDetailView(APIView):
    @extend_schema(summary="One run with its statistics, per-catalog and per-addon results", responses=RunAnswer,
                   operation_id="runs_detail")
    def get(self, request, pk: int):
        return Response(ok(run=run_detail(get_object_or_404(Run, pk=pk))))


# --- prefetch records -----------------------------------------------------------------------------------
class RecordRow(serializers.ModelSerializer):
    """A prefetch record as the Records list shows it."""

    type = serializers.CharField(source="content_type")
    addon = serializers.CharField(source="addon_name", help_text="The stream addon's name when it was requested.")
    state = serializers.CharField(help_text="ok, empty, failed or never (the Records filter's words).")
    latency_ms = serializers.FloatField(allow_null=True, help_text="The last answer time.")
    looked_cached = serializers.BooleanField(allow_null=True, help_text="Whether the last answer came about as fast "
                                             "as a verified warm answer (null: not judged).")

    class Meta:
        model = PrefetchRecord
        fields = ["id", "title", "type", "video_id", "addon", "addon_key", "state", "last_attempt", "last_success",
                  "last_status", "last_error", "stream_count", "latency_ms", "looked_cached"]


class InvalidateSerializer(StrictSerializer):
    ids = serializers.ListField(child=IdField(), required=False, max_length=10000)
    filter = serializers.DictField(required=False, help_text="The records list's filters: q, status, addon, run.")

    def validate_filter(self, given):
        unknown = sorted(set(given) - set(RecordFilter.base_filters))
        if unknown:
            raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        chosen = RecordFilter(given, queryset=PrefetchRecord.objects.all())
        if not chosen.is_valid():
            raise serializers.ValidationError(chosen.errors)
        return chosen
    all = serializers.BooleanField(required=False, default=False)

    def validate(self, data):
        chosen = [key for key in ("ids", "filter") if key in data] + (["all"] if data.get("all") else [])
        if len(chosen) != 1:
            raise serializers.ValidationError("Give exactly one of ids, filter or all: true.")
        return data


class RecordListView(generics.ListAPIView):
    queryset = PrefetchRecord.objects.all()
    serializer_class = RecordRow
    filterset_class = RecordFilter
    results_key = "records"

    @extend_schema(summary="Prefetch records (the cache memory), newest attempt first",
                   responses=_list_answer("RecordList", "records", RecordRow(many=True)))
    def get(self, request):
        return super().get(request)


class RecordInvalidateView(APIView):
    @extend_schema(request=InvalidateSerializer, responses=InvalidatedAnswer,
                   summary="Forget records so the next run requests them again")
    def post(self, request):
        given = InvalidateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if data.get("all"):
            records = PrefetchRecord.objects.all()
        elif "ids" in data:
            records = PrefetchRecord.objects.filter(pk__in=data["ids"])
        else:
            records = data["filter"].qs
        # Deleted by the query itself (records have no relations or signals, so Django issues one
        # DELETE ... WHERE): a list of every matching id would exceed SQLite's variable limit at scale.
        deleted, _ = records.delete()
        return Response(ok(invalidated=deleted))


# --- log files ------------------------------------------------------------------------------------------
LOG_PAGE_MAX_LINES = 5000
LOG_DOWNLOAD_CHUNK_BYTES = 256 * 1024


class LogPageQuery(serializers.Serializer):
    offset = serializers.IntegerField(min_value=0, max_value=MAX_INT, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=LOG_PAGE_MAX_LINES, default=500)
    tail = serializers.IntegerField(min_value=0, max_value=LOG_PAGE_MAX_LINES, default=0)
    download = serializers.BooleanField(default=False)  # the whole file, as an attachment


def _log_file(name: str) -> Path:
    """The log file of that name: a 400 for a name outside the logs folder, a 404 when there is none."""
    path = run_logs.safe_path(name)
    if path is None:
        raise serializers.ValidationError("Invalid filename")
    if not path.is_file():
        raise NotFound("Log file not found")
    return path


def _log_download(path) -> StreamingHttpResponse:
    """The file as an attachment, as long as it is now (a run still writing to it adds nothing past
    the length announced). An async iterator reads it a chunk at a time on a worker thread as the
    server sends it: under ASGI Django reads a sync one (a FileResponse's) whole into memory first,
    and a log may reach run_logs.MAX_FILE_BYTES."""
    size = path.stat().st_size

    async def chunks():
        with await asyncio.to_thread(path.open, "rb") as handle:
            left = size
            while left > 0 and (chunk := await asyncio.to_thread(handle.read, min(left, LOG_DOWNLOAD_CHUNK_BYTES))):
                left -= len(chunk)
                yield chunk

    response = StreamingHttpResponse(chunks(), content_type="text/plain; charset=utf-8")
    response["Content-Length"] = size
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=path.name)
    return response


# The files on disk, paged like the other lists: DRF pages a list as it pages a queryset.
class LogListView(generics.ListAPIView):
    serializer_class = LogRow
    filter_backends = ()  # nothing to filter by: a run's page links its own log file
    results_key = "logs"
    # The whole folder by default (pruned to MAX_FILES after each run): a script written for the
    # original, unpaged list still gets every file.
    default_limit = run_logs.MAX_FILES

    def get_queryset(self):
        return run_logs.list_logs()

    @extend_schema(summary="Per-run log files, newest first", responses=LogsAnswer, operation_id="logs_list")
    def get(self, request):
        return super().get(request)

    @extend_schema(summary="Delete every log file", responses={200: LogsDeleted}, operation_id="logs_delete_all")
    def delete(self, request):
        return Response(ok(deleted=run_logs.delete_all_logs()))


class LogFileView(APIView):
    @extend_schema(
        parameters=[LogPageQuery, OpenApiParameter("q", str)],
        summary="One log file: a page of lines (offset/limit), the last lines (tail) or the lines matching q",
        responses=LogAnswer, operation_id="logs_read",
    )
    def get(self, request, name: str):
        params = query_params(LogPageQuery, request)
        path = _log_file(name)
        if params["download"]:
            return _log_download(path)
        with path.open(encoding="utf-8", errors="replace") as handle:
            lines = [line.rstrip("\n") for line in handle]
        numbered = list(enumerate(lines, start=1))
        q = request.query_params.get("q", "").strip()
        if q:
            numbered = [(n, text) for n, text in numbered if q.lower() in text.lower()]
        total = len(numbered)
        tail = params["tail"]
        offset = max(0, total - tail) if tail else params["offset"]
        page = numbered[offset : offset + (tail or params["limit"])]
        return Response(ok(
            filename=path.name, size=path.stat().st_size, total_lines=total, offset=offset, query=q,
            lines=[{"n": n, "text": text} for n, text in page], content="\n".join(text for _, text in page),
        ))

    @extend_schema(summary="Delete one log file", responses={200: LogDeleted}, operation_id="logs_delete")
    def delete(self, request, name: str):
        path = _log_file(name)
        path.unlink()
        return Response(ok(message=f"Deleted {path.name}"))


# --- Server-Sent Events ---------------------------------------------------------------------------------
def _token_user(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Token "):
        return None
    token = Token.objects.select_related("user").filter(key=header[6:].strip()).first()
    return token.user if token and token.user.is_active else None


def _sse(event: str, data, seq=None) -> str:
    head = f"id: {seq}\n" if seq is not None else ""
    return head + "data: " + json.dumps({"event": event, "data": data}, separators=(",", ":")) + "\n\n"


@login_not_required
async def events(request):
    """`text/event-stream` of `{event, data}` messages: connected, status (the snapshot), then every
    progress message of the channel layer; a keep-alive comment every 10 s."""
    user = await request.auser()
    if not user.is_authenticated:
        user = await sync_to_async(_token_user)(request)
    if user is None or not user.is_authenticated:
        return JsonResponse({"success": False, "error": "Authentication credentials were not provided."}, status=401)
    layer = get_channel_layer()
    group = progress.subscriber_group()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    snapshot = await sync_to_async(job_status)()

    async def stream():
        try:
            yield "retry: 3000\n" + _sse("connected", {})
            yield _sse("status", snapshot, snapshot.get("seq"))
            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=SSE_KEEPALIVE_S)
                except asyncio.TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield _sse(message["event"], message["run"], message["run"].get("seq"))
        finally:
            await layer.group_discard(group, channel)

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
