"""JSON API of following what is watched (`/api/follow…`), in the project's envelope; bad input is a
400 naming the field, an account service's refusal a 400 with its message. The viewers are
`/api/follow/viewers`; the endpoints of one viewer's companion and accounts take `?viewer=<id>`,
the first viewer when left out."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator
from rest_framework.views import APIView

from addons.web.api_conventions import IdField, StrictModelSerializer, StrictSerializer, ok, query_params, refused
from prefetch.runs.lifecycle import RunActive, RunRefused

from . import accounts, services
from .models import Viewer
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


class ViewerState(serializers.Serializer):
    id = serializers.IntegerField()
    viewer = serializers.CharField(help_text="The viewer's name.")
    addon_url = serializers.CharField(help_text="The viewer's companion addon URL (its secret included).")
    install_url = serializers.CharField()
    installable = serializers.BooleanField()
    next_episodes = serializers.IntegerField()
    stremio = StremioConnection()
    trakt = TraktConnection()


FollowState = _answer("FollowState", **ViewerState().get_fields())
ViewerList = _answer("FollowViewers", viewers=ViewerState(many=True))
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
                warmed_by=serializers.DictField(),
                viewers=inline_serializer("ViewerPlays", {"viewer": serializers.CharField(),
                                                          "plays": serializers.IntegerField(),
                                                          "warm": serializers.IntegerField()}, many=True))
Targets = inline_serializer("FollowTarget", {name: serializers.CharField() for name in
                                              ("type", "video_id", "source", "reason")}, many=True)


class ViewerQuery(serializers.Serializer):
    viewer = IdField(required=False, help_text="The viewer's id (GET /api/follow/viewers); the first viewer when left out.")


def viewer_id(request) -> int | None:
    """`?viewer=<id>`: a 400 naming it when it is no id."""
    return query_params(ViewerQuery, request).get("viewer")


def viewer_of(request) -> Viewer:
    return services.chosen_viewer(viewer_id(request))


def viewer_schema(**kwargs):
    """The schema of an endpoint of one viewer: `?viewer=<id>`."""
    return extend_schema(parameters=[ViewerQuery], **kwargs)


class ViewerName(StrictModelSerializer):
    class Meta:
        model = Viewer
        fields = ["name"]
        extra_kwargs = {"name": {"validators": [UniqueValidator(Viewer.objects.all(), lookup="iexact",
                                                                message="Another viewer has this name.")]}}


class ViewersView(APIView):
    @extend_schema(responses=ViewerList, summary="The household's viewers, each with their companion URL and connections")
    def get(self, request):
        return Response(ok(viewers=services.viewer_states(services.site_url(request))))

    @extend_schema(request=ViewerName, responses={201: FollowState}, summary="Add a viewer (their own companion URL and accounts)")
    def post(self, request):
        given = ViewerName(data=request.data)
        given.is_valid(raise_exception=True)
        viewer = given.save()
        return Response(ok(**services.follow_state(viewer, services.site_url(request))), status=status.HTTP_201_CREATED)


class ViewerView(APIView):
    @extend_schema(request=ViewerName, responses=FollowState, summary="Rename a viewer")
    def patch(self, request, pk: int):
        given = ViewerName(get_object_or_404(Viewer, pk=pk), data=request.data)
        given.is_valid(raise_exception=True)
        viewer = given.save()
        return Response(ok(**services.follow_state(viewer, services.site_url(request))))

    @extend_schema(request=None, responses={200: Done},
                   summary="Delete a viewer: signed out of Stremio, Trakt revoked, their targets and plays deleted")
    def delete(self, request, pk: int):
        accounts.delete_viewer(get_object_or_404(Viewer, pk=pk))
        return Response(ok())


class FollowView(APIView):
    @viewer_schema(responses=FollowState,
                   summary="The companion addon's URL, the next episodes setting and both connections")
    def get(self, request):
        return Response(ok(**services.follow_state(viewer_of(request), services.site_url(request))))


class SecretView(APIView):
    @viewer_schema(request=None, responses=FollowState, summary="A new companion secret (the old URL stops working)")
    def post(self, request):
        viewer = services.regenerate_secret(viewer_of(request))
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
    @viewer_schema(request=StremioSignIn, responses=StremioState, summary="Sign in to Stremio (the password is used once, never kept)")
    def post(self, request):
        # Refusals in order: a body that does not parse, the query, the body's fields (400s), then
        # no such viewer (404).
        data = request.data
        chosen = viewer_id(request)
        given = StremioSignIn(data=data)
        given.is_valid(raise_exception=True)
        viewer = services.chosen_viewer(chosen)
        try:
            accounts.connect_stremio(viewer, **given.validated_data)
        except accounts.ServiceError as error:
            return refused(str(error))
        viewer.refresh_from_db()
        return Response(ok(stremio=services.stremio_state(viewer)))

    @viewer_schema(request=None, responses={200: Done}, summary="Sign out of Stremio and forget the authKey")
    def delete(self, request):
        accounts.disconnect_stremio(viewer_of(request))
        return Response(ok())


class TraktDeviceView(APIView):
    @viewer_schema(request=None, responses=TraktDevice, summary="Start connecting Trakt: the code to enter and where")
    def post(self, request):
        try:
            started = accounts.start_trakt_device(viewer_of(request))
        except accounts.ServiceError as error:
            return refused(str(error))
        return Response(ok(**started))

    @viewer_schema(responses=TraktState, summary="Where connecting Trakt stands (asks Trakt when the interval has passed)")
    def get(self, request):
        viewer = viewer_of(request)
        accounts.poll_trakt_device(viewer)
        viewer.refresh_from_db()
        return Response(ok(trakt=services.trakt_state(viewer)))


class TraktView(APIView):
    @viewer_schema(request=None, responses={200: Done}, summary="Disconnect Trakt: tokens revoked and forgotten")
    def delete(self, request):
        accounts.disconnect_trakt(viewer_of(request))
        return Response(ok())


class SyncView(APIView):
    @viewer_schema(request=None, responses=Synced, summary="Read the connected accounts now and recompute the targets")
    def post(self, request):
        result = accounts.sync_viewer(viewer_of(request))
        return Response(ok(**result))


class TargetsView(APIView):
    @viewer_schema(responses=Targets, summary="What is kept warm: [{type, video_id, source, reason}]")
    def get(self, request):
        return Response(services.target_rows(viewer_of(request)))


class WarmView(APIView):
    @extend_schema(request=None, responses=FollowRun, summary="A follow run now, for the targets not warm")
    def post(self, request):
        try:
            run = services.request_follow_run()
        except RunActive as refusal:
            return refused(str(refusal), status.HTTP_409_CONFLICT)
        except RunRefused as refusal:  # the configuration cannot run it: where to put it right
            return refused(str(refusal), fix=refusal.fix)
        if run is None:
            return Response(ok(id=None, message="Every target is warm already."))
        return Response(ok(id=run.pk))


class PlaysQuery(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=365, default=7)


class PlaysView(APIView):
    @extend_schema(parameters=[PlaysQuery], responses=Plays, summary="The household's plays, warm ones and the misses with their reason, over the last days")
    def get(self, request):
        days = query_params(PlaysQuery, request)["days"]
        return Response(ok(**plays_summary(days)))
