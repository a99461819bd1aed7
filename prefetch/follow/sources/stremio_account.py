"""The Stremio account API (api.strem.io): sign in for an authKey, read the library. Every call is a
POST with a JSON body; failures come in the body with HTTP 200 (`{"error": {"code", "message"}}`).
The password is sent once and kept nowhere; the authKey travels in the body only."""

from dataclasses import dataclass
from datetime import datetime

from prefetch.engine.episodes import parse_time

from .service import BAD_ANSWER, REFUSED, SIGNED_OUT, JsonService, ServiceError

SERVICE = "Stremio"
SESSION_GONE = "Session does not exist"


@dataclass(frozen=True)
class LibraryItem:
    """The fields of a Stremio `libraryItem` that say what is being watched."""

    id: str
    type: str
    name: str
    removed: bool
    temp: bool
    last_watched: datetime | None
    time_offset_ms: int
    duration_ms: int
    video_id: str | None  # the video being watched: `tt…:S:E` for a series

    @classmethod
    def from_answer(cls, raw: dict) -> "LibraryItem":
        state = raw.get("state") if isinstance(raw.get("state"), dict) else {}
        video_id = state.get("video_id")
        return cls(
            id=str(raw.get("_id") or ""),
            type=str(raw.get("type") or ""),
            name=str(raw.get("name") or raw.get("_id") or ""),
            removed=bool(raw.get("removed")),
            temp=bool(raw.get("temp")),
            last_watched=parse_time(state.get("lastWatched")),
            time_offset_ms=_number(state.get("timeOffset")),
            duration_ms=_number(state.get("duration")),
            video_id=video_id if isinstance(video_id, str) and video_id else None,
        )


def _number(value) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class SignedIn:
    auth_key: str
    email: str

    def __repr__(self) -> str:  # the authKey is a secret: never in a log line or a traceback
        return f"SignedIn(email={self.email!r})"


class StremioAccount:
    def __init__(self, base_url: str = "https://api.strem.io", **options):
        self.api = JsonService(SERVICE, base_url, **options)

    def sign_in(self, email: str, password: str) -> SignedIn:
        result = self._call("login", {"type": "Login", "email": email, "password": password, "facebook": False})
        auth_key = result.get("authKey") if isinstance(result, dict) else None
        if not isinstance(auth_key, str) or not auth_key:
            raise self.api.error("the sign-in answer has no authKey", BAD_ANSWER)
        user = result.get("user") if isinstance(result.get("user"), dict) else {}
        return SignedIn(auth_key, str(user.get("email") or email))

    def user(self, auth_key: str) -> SignedIn:
        """Who a pasted authKey belongs to (a "signed out" ServiceError when it is not a live session)."""
        result = self._call("getUser", {"authKey": auth_key})
        return SignedIn(auth_key, str(result.get("email") or "") if isinstance(result, dict) else "")

    def library(self, auth_key: str) -> list[LibraryItem]:
        result = self._call("datastoreGet", {"authKey": auth_key, "collection": "libraryItem", "ids": [], "all": True})
        if not isinstance(result, list):
            raise self.api.error("the library answer is not a list", BAD_ANSWER)
        return [LibraryItem.from_answer(raw) for raw in result if isinstance(raw, dict) and raw.get("_id")]

    def sign_out(self, auth_key: str) -> None:
        """Ends the session on Stremio's side; one already gone counts as signed out."""
        try:
            self._call("logout", {"authKey": auth_key})
        except ServiceError as error:
            if error.kind != SIGNED_OUT:
                raise

    def _call(self, method: str, body: dict):
        answer = self.api.json(self.api.request("POST", f"/api/{method}", json=body))
        if not isinstance(answer, dict):
            raise self.api.error("an answer of the wrong shape", BAD_ANSWER)
        error = answer.get("error")
        if error:
            message = str(error.get("message") or "") if isinstance(error, dict) else str(error)
            if message == SESSION_GONE:
                raise self.api.error("signed out: sign in again", SIGNED_OUT)
            raise self.api.error(message or "the request was refused", REFUSED)
        return answer.get("result")
