"""What a follow run works on: the targets as one listed catalog (no catalog addon is asked), items
grouped by series, each video requested on every stream addon serving it unless still warm."""

from prefetch.engine.episodes import Video
from prefetch.engine.plan import AddonSpec, CatalogSpec, ListedItem

from .sources.targets import episode_position, series_of

FOLLOWED_CATALOG = "Followed titles"


def followed_catalog(targets: list[list[str]], stream_addons: list[AddonSpec]) -> CatalogSpec | None:
    """`targets`: [type, video id] pairs, as recorded on the run. Its `addon` only names the list in
    the report, as for release runs."""
    if not stream_addons:
        return None
    items: dict[tuple[str, str], list[Video]] = {}
    for content_type, video_id in targets:
        item_id = video_id if content_type == "movie" else series_of(video_id)
        items.setdefault((content_type, item_id), []).append(Video(video_id, _label(item_id, video_id)))
    listed = tuple(ListedItem(type_, item_id, item_id, tuple(videos)) for (type_, item_id), videos in items.items())
    return CatalogSpec(stream_addons[0], "mixed", "follow", FOLLOWED_CATALOG, items=listed, skip_warm=True)



def _label(item_id: str, video_id: str) -> str:
    """S01E02 for an episode id; empty for a movie."""
    position = episode_position(video_id) if video_id != item_id else None
    return f"S{position[0]:02d}E{position[1]:02d}" if position else ""
