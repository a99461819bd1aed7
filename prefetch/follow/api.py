"""JSON API of following what is watched (`/api/follow…`), in the project's envelope; bad input is a
400 naming the field, an account service's refusal a 400 with its message."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from addons.web.api_conventions import StrictSerializer, ok, query_params, refused
from prefetch.runs.active import active_run
from prefetch.runs.lifecycle import RunRefused

from . import accounts, services
from .plays import plays_summary


def _answer(name: str, **fields) -> serializers.Serializer:
    """An answer's shape for the schema, in the project's envelope (`success` first)."""
    return inline_serializer(name, {"success": serializers.BooleanField(), **fields})


class StremioConnection(serializers.Serializer):
    connected = serializers.BooleanField()
    email = serializers.CharField(required=False, help_text="The account connected; blank when Stremio did not say.")
    last_read = serializers.DateTimeField(required=False, allow_null=True, help_text="When the library was last read.")
    last_error = serializers.CharField(required=False)
    summary = serializers.CharField(help_text="In words: “Stremio: connected as you@example.com, library read 3 minutes ago”.")


class TraktConnection(serializers.Serializer):
    connected = serializers.BooleanField()
    available = serializers.BooleanField(help_text="TRAKT_CLIENT_ID and TRAKT_CLIENT_SECRET are set.")
    pending = serializers.BooleanField(help_text="A device code waits to be entered on Trakt.")
    user_code = serializers.CharField(required=False, help_text="While pending: the code to enter.")
    verification_url = serializers.CharField(required=False, help_text="While pending: where to enter it.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="While pending: when the code expires.")
    username = serializers.CharField(required=False, help_text="Once connected: the Trakt account; blank when Trakt did not say.")
    last_read = serializers.DateTimeField(required=False, allow_null=True)
    last_error = serializers.CharField()
    summary = serializers.CharField(help_text="In words: “Trakt: connected as you, read 3 minutes ago”.")


FollowState = _answer("FollowState", viewer=serializers.CharField(), addon_url=serializers.CharField(),
                      install_url=serializers.CharField(), installable=serializers.BooleanField(),
                      next_episodes=serializers.IntegerField(), stremio=StremioConnection(), trakt=TraktConnection())
Done = _answer("FollowDone")
StremioState = _answer("StremioState", stremio=StremioConnection())
TraktState = _answer("TraktState", trakt=TraktConnection())
TraktDevice = _answer("TraktDevice", user_code=serializers.CharField(), verification_url=serializers.CharField(),
                      expires_in=serializers.IntegerField())
Synced = _answer("FollowSynced", targets=serializers.IntegerField(), upcoming=serializers.IntegerField(),
                 errors=serializers.DictField(child=serializers.CharField()))
FollowRun = _answer("FollowRun", id=serializers.IntegerField(allow_null=True), message=serializers.CharField(required=False))
Plays = _answer("Plays", days=serializers.IntegerField(), plays=serializers.IntegerField(),
                warm=serializers.IntegerField(), hit_rate=serializers.FloatField(allow_null=True),
                misses=serializers.ListField(child=serializers.DictField()), miss_reasons=serializers.DictField(),
                warmed_by=serializers.DictField())
Targets = inline_serializer("FollowTarget", {name: serializers.CharField() for name in
                                              ("type", "video_id", "source", "reason")}, many=True)


class FollowView(APIView):
    @extend_schema(responses=FollowState,
                   summary="The companion addon's URL, the next episodes setting and both connections")
    def get(self, request):
        viewer = services.default_viewer()
        return Response(ok(**services.follow_state(viewer, services.site_url(request))))


class SecretView(APIView):
    @extend_schema(request=None, responses=FollowState, summary="A new companion secret (the old URL stops working)")
    def post(self, request):
        viewer = services.regenerate_secret(services.default_viewer())
        return Response(ok(**services.follow_state(viewer, services.site_url(request))))


class StremioSignIn(StrictSerializer):
    email = serializers.EmailField(required=False, max_length=254)
    password = serializers.CharField(required=False, max_length=500, trim_whitespace=False)
    auth_key = serializers.CharField(required=False, max_length=300)

    def validate(self, data):
        if data.get("auth_key"):
            if data.get("email") or data.get("password"):
                raise serializers.ValidationError({"auth_key": ["Give either the authKey or email and password."]})
            return data
        missing = {name: ["Enter a value."] for name in ("email", "password") if not data.get(name)}
        if missing:
            raise serializers.ValidationError(missing)
        return data


class StremioView(APIView):
    @extend_schema(request=StremioSignIn, responses=StremioState, summary="Sign in to Stremio (the password is used once, never kept)")
    def post(self, request):
        given = StremioSignIn(data=request.data)
        given.is_valid(raise_exception=True)
        viewer = services.default_viewer()
        try:
            accounts.connect_stremio(viewer, **given.validated_data)
        except accounts.ServiceError as error:
            return refused(str(error))
        viewer.refresh_from_db()
        return Response(ok(stremio=services.stremio_state(viewer)))

    @extend_schema(request=None, responses={200: Done}, summary="Sign out of Stremio and forget the authKey")
    def delete(self, request):
        accounts.disconnect_stremio(services.default_viewer())
        return Response(ok())


class TraktDeviceView(APIView):
    @extend_schema(request=None, responses=TraktDevice, summary="Start connecting Trakt: the code to enter and where")
    def post(self, request):
        try:
            started = accounts.start_trakt_device(services.default_viewer())
        except accounts.ServiceError as error:
            return refused(str(error))
        return Response(ok(**started))

    @extend_schema(responses=TraktState, summary="Where connecting Trakt stands (asks Trakt when the interval has passed)")
    def get(self, request):
        viewer = services.default_viewer()
        accounts.poll_trakt_device(viewer)
        viewer.refresh_from_db()
        return Response(ok(trakt=services.trakt_state(viewer)))


class TraktView(APIView):
    @extend_schema(request=None, responses={200: Done}, summary="Disconnect Trakt: tokens revoked and forgotten")
    def delete(self, request):
        accounts.disconnect_trakt(services.default_viewer())
        return Response(ok())


class SyncView(APIView):
    @extend_schema(request=None, responses=Synced, summary="Read the connected accounts now and recompute the targets")
    def post(self, request):
        result = accounts.sync_viewer(services.default_viewer())
        return Response(ok(**result))


class TargetsView(APIView):
    @extend_schema(responses=Targets, summary="What is kept warm: [{type, video_id, source, reason}]")
    def get(self, request):
        return Response(services.target_rows(services.default_viewer()))


class WarmView(APIView):
    @extend_schema(request=None, responses=FollowRun, summary="A follow run now, for the targets not warm")
    def post(self, request):
        try:
            run = services.request_follow_run()
        except RunRefused as refusal:
            conflict = active_run() is not None
            return refused(str(refusal), status.HTTP_409_CONFLICT if conflict else status.HTTP_400_BAD_REQUEST,
                            fix=refusal.fix)
        if run is None:
            return Response(ok(id=None, message="Every target is warm already."))
        return Response(ok(id=run.pk))


class PlaysQuery(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=365, default=7)


class PlaysView(APIView):
    @extend_schema(parameters=[PlaysQuery], responses=Plays, summary="Plays, warm ones and the misses with their reason, over the last days")
    def get(self, request):
        days = query_params(PlaysQuery, request)["days"]
        return Response(ok(**plays_summary(days, services.default_viewer())))
