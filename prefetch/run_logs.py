"""Each run's own log: an in-memory tail for the live page and, when enabled, a file in LOG_DIR.

Both see only what the run logs (the `prefetch.runs` logger the engine writes to) and both are
redacted by `addons.redaction.RedactingFilter` before anything is stored. Files are named
`streams_prefetcher_logs_<local time>_run<id>.txt` (the original tool's prefix, so its users find
them) and are kept within bounds: each file stops growing at MAX_FILE_BYTES, files older than the
run retention are deleted with their runs, and at most MAX_FILES files are kept.
"""

import logging
import re
import threading
from collections import deque
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from addons.models import Addon
from addons.redaction import RedactingFilter, redact_text

from . import progress
from .models import ACTIVE_STATUSES, PrefetchSettings, Run, UpcomingRelease

logger = logging.getLogger("prefetch.runs")

PREFIX = "streams_prefetcher_logs_"
SUFFIX = ".txt"
NAME_RE = re.compile(r"^streams_prefetcher_logs_[A-Za-z0-9_-]{1,80}\.txt$")
TAIL_LINES = 60
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 300
CAPTURED_LOGGERS = ("prefetch.runs",)


class LogTail:
    def __init__(self, size: int = TAIL_LINES):
        self._lines = deque(maxlen=size)
        self._lock = threading.Lock()

    def append(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)


class RunLogHandler(logging.Handler):
    """Feeds the tail and (optionally) the run's file; the redacting filter runs first."""

    def __init__(self, tail: LogTail, path: Path | None):
        super().__init__(level=logging.INFO)
        self.addFilter(RedactingFilter())
        self.tail = tail
        self.file = path.open("a", encoding="utf-8") if path else None
        self.written = 0
        self.truncated = False
        self.short = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
        self.long = logging.Formatter("%(asctime)s %(levelname)-7s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.tail.append(self.short.format(record))
            if self.file is not None:
                self.write(self.long.format(record) + "\n")
        except Exception:
            self.handleError(record)

    def write(self, text: str) -> None:
        with self.lock:
            if self.file is None or self.truncated:
                return
            size = len(text.encode("utf-8"))
            if self.written + size > MAX_FILE_BYTES:
                self.truncated = True
                self.file.write(f"[log file size limit of {MAX_FILE_BYTES // (1024 * 1024)} MB reached; not written further]\n")
            else:
                self.file.write(text)
                self.written += size
            self.file.flush()

    def close(self) -> None:
        with self.lock:
            if self.file is not None:
                self.file.close()
                self.file = None
        super().close()


def log_dir() -> Path:
    path = Path(settings.LOG_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def safe_path(name: str) -> Path | None:
    """The file for a name from a request, or None: only our own names, only directly in LOG_DIR."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        return None
    folder = log_dir().resolve()
    path = (folder / name).resolve()
    if path.parent != folder:
        return None
    return path


def list_logs() -> list[dict]:
    files = []
    for path in log_dir().iterdir():
        if path.is_file() and NAME_RE.match(path.name):
            stat = path.stat()
            files.append({"filename": path.name, "size": stat.st_size, "mtime": stat.st_mtime})
    files.sort(key=lambda f: (f["mtime"], f["filename"]), reverse=True)
    for entry in files:
        entry["modified"] = timezone.datetime.fromtimestamp(entry.pop("mtime"), tz=timezone.get_current_timezone()).isoformat()
    return files


def delete_all_logs() -> int:
    deleted = 0
    for entry in list_logs():
        path = safe_path(entry["filename"])
        if path is not None:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def prune_history(retention_days: int | None = None) -> tuple[int, int]:
    """Delete runs older than the retention with their log files, old log files, files over
    MAX_FILES, and releases warmed before the retention (announcements yet to air stay)."""
    if retention_days is None:
        retention_days = PrefetchSettings.load().run_retention_days
    cutoff = timezone.now() - timedelta(days=retention_days)
    old_runs = Run.objects.filter(created_at__lt=cutoff).exclude(status__in=ACTIVE_STATUSES)
    old_files = set(old_runs.exclude(log_file="").values_list("log_file", flat=True))
    runs_deleted, _ = old_runs.delete()
    UpcomingRelease.objects.filter(warmed_at__lt=cutoff).delete()
    files_deleted = 0
    for index, entry in enumerate(list_logs()):
        path = safe_path(entry["filename"])
        if path is None:
            continue
        too_old = path.stat().st_mtime < cutoff.timestamp()
        if entry["filename"] in old_files or too_old or index >= MAX_FILES:
            path.unlink(missing_ok=True)
            files_deleted += 1
    return runs_deleted, files_deleted


class RunObserver:
    """What `execute_run` wraps around a run: log capture, live publishing, the final message."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.tail = LogTail()
        self.handler: RunLogHandler | None = None
        self.log_name = ""

    def start(self) -> None:
        path = None
        try:
            if PrefetchSettings.load().logging_enabled:
                stamp = timezone.localtime().strftime("%Y-%m-%d_%H-%M-%S")
                self.log_name = f"{PREFIX}{stamp}_run{self.run_id}{SUFFIX}"
                path = log_dir() / self.log_name
        except OSError:
            logger.warning("Cannot create the log folder %s; this run is not logged to a file", settings.LOG_DIR)
            path = None
        try:
            self.handler = RunLogHandler(self.tail, path)
        except OSError as error:
            logger.warning("Cannot write the run log file: %s", error)
            self.log_name = ""
            self.handler = RunLogHandler(self.tail, None)
        if self.handler.file is not None:
            run = Run.objects.get(pk=self.run_id)
            self.handler.write(
                f"Streams Prefetcher run #{self.run_id} ({run.trigger}), started {timezone.localtime():%Y-%m-%d %H:%M:%S %Z}\n"
            )
            self.handler.write(_configuration_block())
            Run.objects.filter(pk=self.run_id).update(log_file=self.log_name)
        for name in CAPTURED_LOGGERS:
            logging.getLogger(name).addHandler(self.handler)
        progress.publish_run(self.run_id, "started")

    def wrap(self, recorder):
        return progress.RunPublisher(self.run_id, recorder, self.tail)

    def stop(self) -> None:
        for name in CAPTURED_LOGGERS:
            logging.getLogger(name).removeHandler(self.handler)
        run = Run.objects.filter(pk=self.run_id).first()
        if run is not None and self.handler is not None and self.handler.file is not None:
            self.handler.write(_summary_block(run))
        if self.handler is not None:
            self.handler.close()
        if run is None:
            return
        snapshot = dict(run.progress or {})
        snapshot["seq"] = int(snapshot.get("seq") or 0) + 1
        snapshot["log_tail"] = self.tail.lines()
        Run.objects.filter(pk=self.run_id).update(progress=snapshot)
        progress.publish_run(self.run_id, "finished")
        try:
            prune_history()
        except Exception:
            logger.warning("Pruning old runs and logs failed", exc_info=True)


def _configuration_block() -> str:
    """The original tool's configuration header, with every addon URL redacted."""
    config = PrefetchSettings.load()
    lines = ["CONFIGURATION"]
    for addon in Addon.objects.filter(enabled=True):
        lines.append(f"  addon ({addon.role}): {addon.name or '?'} {addon.url}")
    for field in ("movies_global_limit", "series_global_limit", "movies_per_catalog", "series_per_catalog",
                  "items_per_mixed_catalog", "delay_s", "cache_validity_s", "cache_validity_auto", "max_execution_time_s",
                  "request_timeout_s", "concurrency", "cache_requests_enabled"):
        lines.append(f"  {field}: {getattr(config, field)}")
    if config.proxy_url:
        lines.append(f"  proxy: {config.proxy_url}")
    return redact_text("\n".join(lines) + "\n\n")


def _summary_block(run: Run) -> str:
    stats = run.statistics or {}
    lines = ["", "=" * 72, f"SUMMARY  run #{run.pk}: {run.status}" + (f" ({run.stop_reason})" if run.stop_reason else "")]
    if run.error:
        lines.append(f"error: {run.error}")
    if run.duration_s is not None:
        lines.append(f"duration: {run.duration_s:.1f} s active, {run.paused_s:.1f} s paused")
    for key in ("catalogs_processed", "catalogs_failed", "catalogs_skipped", "catalogs_not_reached", "pages_fetched",
                "items_prefetched", "prefetched_by_type", "movies_prefetched", "series_prefetched",
                "episodes_prefetched", "already_prefetched", "items_failed", "videos_failed", "items_unsupported",
                "items_no_meta", "items_excluded", "items_own_streams", "items_duplicates", "items_not_reached",
                "stream_requests", "stream_requests_ok", "stream_requests_not_found", "stream_requests_failed",
                "stream_requests_retried_ok", "stream_requests_skipped",
                "cache_requests_sent", "cache_requests_ok", "success_rate"):
        if key in stats:
            lines.append(f"{key.replace('_', ' ')}: {stats[key]}")
    if run.catalogs:
        lines.append("")
        lines.append("PER-CATALOG")
        for catalog in run.catalogs:
            lines.append(
                f"  {catalog.get('name')} ({catalog.get('type')}): {catalog.get('prefetched', 0)} prefetched, "
                f"{catalog.get('already_prefetched', 0)} already, {catalog.get('failed', 0)} failed, "
                f"{catalog.get('videos_failed', 0)} videos failed, {catalog.get('unsupported', 0)} unsupported, "
                f"{catalog.get('no_meta', 0)} without meta, {catalog.get('excluded', 0)} excluded, "
                f"{catalog.get('own_streams', 0)} with their own streams, {catalog.get('duplicates', 0)} duplicates, "
                f"{catalog.get('duration_s', 0)} s, {catalog.get('stop_reason') or ''}"
            )
    return redact_text("\n".join(lines) + "\n")


@contextmanager
def observe_run(run_id: int):
    observer = RunObserver(run_id)
    observer.start()
    try:
        yield observer
    finally:
        observer.stop()
