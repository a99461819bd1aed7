"""Conventions shared by every JSON endpoint, of every app: the bottom app holds them so that each
app's API (and the site's REST_FRAMEWORK settings) can use them.

Answers keep the original tool's envelope (`success: true|false`, `error`) so that scripts written
for it keep working; validation errors add `errors` with a list of messages per field.
"""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError as ModelValidationError
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# The largest id or offset taken from a client: PostgreSQL's `integer` (SQLite overflows at 2^63),
# so that no bound is the database's, which answers a bigger one with a 500 instead of a 400.
MAX_INT = 2**31 - 1


def api_view(view_class, **initkwargs):
    """URLconf entry for a DRF view (`initkwargs` as for `as_view`): DRF answers 401/403 itself
    (session or token), so the login redirect of LoginRequiredMiddleware, meant for pages, is
    switched off."""
    return login_not_required(view_class.as_view(**initkwargs))


def by_token(request) -> bool:
    """Whether an API token (a script) authenticated the request, not a session (someone on a page)."""
    return isinstance(request.successful_authenticator, TokenAuthentication)


def ok(**body) -> dict:
    """A successful answer's body."""
    return {"success": True, **body}


def refused(message: str, code=status.HTTP_400_BAD_REQUEST, fix: tuple[str, str] | None = None) -> Response:
    """A refusal that is no field's: the message, and where given the page that fixes it (href, label)."""
    body = {"success": False, "error": message}
    if fix:
        body["fix"] = {"href": fix[0], "label": fix[1]}
    return Response(body, status=code)


class IdField(serializers.IntegerField):
    """A database id given by the client: 1 … MAX_INT."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_INT, **kwargs)


def query_params(serializer_class, request) -> dict:
    """The query string, validated by `serializer_class` (unknown parameters ignored, as usual for a
    query string): a wrong value is a 400 naming the parameter."""
    given = serializer_class(data=request.query_params)
    given.is_valid(raise_exception=True)
    return given.validated_data


class EnvelopePagination(LimitOffsetPagination):
    """`limit`/`offset` paging of every list: the answer is `{success, total, <the view's
    results_key>: [...]}`; a limit or offset out of range is a 400 naming it (not silently clamped)."""

    default_limit = 100
    max_limit = 500

    def refusals(self, request) -> dict:
        """What is wrong with the given limit and offset, by parameter."""
        fields = {self.limit_query_param: serializers.IntegerField(min_value=1, max_value=self.max_limit),
                  self.offset_query_param: serializers.IntegerField(min_value=0, max_value=MAX_INT)}
        errors = {}
        for name, field in fields.items():
            if name in request.query_params:
                try:
                    field.run_validation(request.query_params[name])
                except serializers.ValidationError as refusal:
                    errors[name] = refusal.detail
        return errors

    def paginate_queryset(self, queryset, request, view=None):
        if errors := self.refusals(request):
            raise serializers.ValidationError(errors)
        self.default_limit = getattr(view, "default_limit", self.default_limit)
        self.results_key = view.results_key
        return super().paginate_queryset(queryset, request, view)

    def get_limit(self, request):
        return int(request.query_params.get(self.limit_query_param, self.default_limit))

    def get_paginated_response(self, data):
        return Response({"success": True, "total": self.count, self.results_key: data})

    def get_schema_operation_parameters(self, view):
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"].update(minimum=1, maximum=self.max_limit, default=getattr(view, "default_limit", self.default_limit))
        offset["schema"].update(minimum=0, maximum=MAX_INT, default=0)
        return [limit, offset]


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know instead of ignoring them silently."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, ModelValidationError):
        # A model's own validation (full_clean in a service, e.g. a unique constraint) refused the
        # request: the client's mistake like any other, 400 with the messages per field.
        exc = serializers.ValidationError(serializers.as_serializer_error(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handling (never a traceback page with DEBUG off)
    detail = response.data
    body = {"success": False, "error": _first_message(detail)}
    if isinstance(detail, dict) and "detail" not in detail:
        body["errors"] = detail
    response.data = body
    return response
