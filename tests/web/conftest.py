import pytest

from tests.browser import off_the_browser_thread


@pytest.fixture
def two_configurations_run(peer):
    """Two configurations of the peer (One: both roles, Two: streams only) and a run over both;
    off the browser thread, so that browser tests can use it too."""
    from addons import services
    from prefetch.models import PrefetchSettings, RunTrigger
    from prefetch.runs.execute import execute_run
    from prefetch.runs.lifecycle import create_run

    first = off_the_browser_thread(services.add_addon, f"{peer.base}/one/manifest.json", display_name="One")
    second = off_the_browser_thread(services.add_addon, f"{peer.base}/two/manifest.json", role="stream",
                                    display_name="Two")
    off_the_browser_thread(services.load_catalogs)
    PrefetchSettings.objects.update_or_create(pk=1, defaults={"movies_global_limit": 4, "series_global_limit": 0,
                                                             "fallback_meta_url": "", "delay_s": 0})
    off_the_browser_thread(execute_run, create_run(RunTrigger.MANUAL).pk, worker="test-worker")
    return first, second
