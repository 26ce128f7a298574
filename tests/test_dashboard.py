"""The dashboard, driven the way users drive it: gradio_client API calls, several clients at once, the live
stream read over HTTP, and a real Chromium through Playwright. One app subprocess serves every test here,
on the tiny checkpoints."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.store.layout import REPO_ROOT
from tests.conftest import ROOT_VARS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tiny_store, tmp_path_factory):
    port = free_port()
    roots = {**tiny_store, "results": tmp_path_factory.mktemp("app-results")}
    env = {
        **os.environ,
        **{ROOT_VARS[name]: str(path) for name, path in roots.items()},
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    log = tmp_path_factory.mktemp("app-log") / "app.log"  # a file, not a pipe: a full pipe would block the server
    proc = subprocess.Popen(
        [sys.executable, "app/main.py"], cwd=REPO_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"app exited: {log.read_text()[-2000:]}")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("app did not start within 90 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def mp4_frames(path) -> list:
    import imageio.v2 as imageio

    return [f for f in imageio.get_reader(path)]  # list() asks the reader for its (infinite) length


def test_api_return_episode_stream_summary_and_video(app_url):
    c = client(app_url)
    view, plot, summary = c.predict("hopper", "medium", "Both, side by side", 10, 3, api_name="/run_return")
    assert "requested return" in summary and "Q-ALIGN DT" in summary
    assert json.loads(plot["plot"])["data"][0]["name"] == "requested"
    episode = json.loads(view)
    stream = urllib.request.urlopen(app_url + episode["stream"], timeout=10).read().decode()
    assert stream.startswith("event: scene") and "event: steps" in stream and stream.rstrip().count("event: end") == 1
    video = c.predict(api_name="/export_return")
    assert Path(video).suffix == ".mp4" and Path(video).stat().st_size > 1000
    for seed in (4, 5):  # later exports render on other worker threads: frames must not turn black
        c.predict("hopper", "medium", "Both, side by side", 10, seed, api_name="/run_return")
        frames = mp4_frames(c.predict(api_name="/export_return"))
        assert frames[0].shape[1] == 2 * frames[0].shape[0] and min(f.mean() for f in frames) > 10


def test_api_asks_for_an_outcome(app_url):
    c = client(app_url)
    _, plot, summary = c.predict(
        "hopper", "medium", "Decision Transformer", 12, 3, "4x", "Outcome (the return you want)", api_name="/run_return"
    )
    assert "wanted return" in summary and json.loads(plot["plot"])["data"][0]["name"] == "wanted"


def test_api_velocity_episode(app_url):
    c = client(app_url)
    _, _, summary = c.predict("hopper", "medium", "Q-ALIGN DT", 1.0, 0, "4x", api_name="/run_velocity")
    assert "target speed" in summary and "1.00 m/s" in summary
    _, _, summary = c.predict(
        "halfcheetah", "medium", "Both, side by side", 1.0, 0, "4x", True, api_name="/run_velocity"
    )
    assert "target speed" in summary  # held: the same episode, each model's request corrected every second
    with pytest.raises(Exception, match="Hold the speed must be true or false, got 'yes'"):
        c.predict("halfcheetah", "medium", "Q-ALIGN DT", 1.0, 0, "4x", "yes", api_name="/run_velocity")


@pytest.mark.parametrize(
    "args, message",
    [
        (("hopper", "medium", "Decision Transformer", "abc", 0), "Requested return must be a number, got 'abc'"),
        (("hopper", "medium", "Decision Transformer", "", 0), "Requested return is empty"),
        (("hopper", "medium", "Decision Transformer", None, 0), "Requested return is empty"),
        (("hopper", "medium", "Decision Transformer", 1e9, 0), "Requested return 1e\\+09 is greater than maximum"),
        (("hopper", "medium", "Decision Transformer", 10, -5), "Episode seed -5 is less than minimum 0"),
        (("hopper", "medium", "Decision Transformer", 10, 1.5), "Episode seed must be a whole number"),
        (("hopper", "medium", "Decision Transformer", 10, 0, "11x"), "Pace '11x' is not available"),
        (("hopper", "expert", "Decision Transformer", 10, 0), "Training dataset 'expert' is not available"),
        (("hopper", "medium", "GPT", 10, 0), "Model 'GPT' is not available"),
        (("ant", "medium", "Decision Transformer", 10, 0), "unknown task 'ant'"),
    ],
)
def test_api_bad_input_names_the_field(app_url, args, message):
    with pytest.raises(Exception, match=message) as err:
        client(app_url).predict(*args, api_name="/run_return")
    assert "Traceback" not in str(err.value)


def test_api_bad_input_to_the_other_endpoints_names_the_field(app_url):
    c = client(app_url)
    with pytest.raises(Exception, match="Target must be a number, got 'fast'"):
        c.predict("fast", api_name="/set_velocity_target")
    with pytest.raises(Exception, match="Requested returns must be a number"):
        c.predict("hopper", "medium", "x", 1, api_name="/quick_sweep")
    with pytest.raises(Exception, match="Run an episode first"):
        c.predict(api_name="/export_velocity")


def test_api_precomputed_and_quick_sweep(app_url):
    c = client(app_url)
    plot, table = c.predict("hopper", "medium", api_name="/precomputed_sweep")
    assert "Spearman" in table and plot is not None
    plot, table, files = c.predict("hopper", "medium", 2, 1, api_name="/quick_sweep")
    names = sorted(Path(f).name for f in files)
    assert names == ["sweep.csv", "sweep.json"]
    rows = Path([f for f in files if f.endswith(".csv")][0]).read_text().splitlines()
    assert rows[0].startswith("model,requested_return") and len(rows) == 1 + 2 * 2


def live_viewer(url: str, seed: int) -> dict:
    """One viewer: start a side-by-side episode and read its live stream while it runs, as a page does."""
    job = client(url).submit("hopper", "medium", "Both, side by side", 10 + seed, seed, "4x", api_name="/run_return")
    while not job.outputs() and not job.done():
        time.sleep(0.01)
    view = json.loads(job.outputs()[0][0])
    steps, end, kind = [], None, None
    with urllib.request.urlopen(url + view["stream"], timeout=60) as stream:
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "steps":
                steps += [step["t"] for step in json.loads(line[6:])["steps"]]
            elif line.startswith("data: ") and kind == "end":
                end = json.loads(line[6:])
    return {"id": view["id"], "steps": steps, "end": end, "summary": job.result(timeout=60)[2]}


def test_eight_viewers_at_once_each_get_their_whole_episode(app_url):
    """The load test: 8 viewers start side-by-side episodes together and read their streams live; every stream
    carries every step of its own episode in order, ends done, and every viewer gets its summary."""
    with ThreadPoolExecutor(8) as pool:
        viewers = list(pool.map(lambda seed: live_viewer(app_url, seed), range(8)))
    for v in viewers:
        assert v["end"]["status"] == "done" and "requested return" in v["summary"], v["end"]
        assert v["steps"] == list(range(v["end"]["steps"] + 1))  # step 0 (the reset pose) to the last, none lost
    assert len({v["id"] for v in viewers}) == 8  # eight episodes, not one shown eight times


def requested_series(plot: dict) -> list[float]:
    data = json.loads(plot["plot"])["data"]
    return next(trace["y"] for trace in data if trace["name"] == "requested")


def test_a_viewer_moves_its_own_target_and_nothing_another_sends_stops_it(app_url):
    """A HalfCheetah episode (never ends early) asked for 0.5 m/s. Another viewer stops, retargets and starts
    with bad input (a speed past the slider's top among it); then the owner moves its target to 1 m/s: its episode
    ran on and asks for 1 m/s from then."""
    owner, other = client(app_url), client(app_url)
    job = owner.submit("halfcheetah", "medium", "Q-ALIGN DT", 0.5, 0, "4x", api_name="/run_velocity")
    deadline = time.time() + 60
    while not job.outputs() and time.time() < deadline:
        time.sleep(0.05)
    assert job.outputs(), "the episode did not start"
    assert other.predict(api_name="/stop_velocity") == "Nothing is running."  # it has no episode to stop
    with pytest.raises(Exception, match="must be a number"):
        other.predict("stop!", api_name="/set_velocity_target")
    with pytest.raises(Exception, match="Episode seed"):
        other.predict("halfcheetah", "medium", "Q-ALIGN DT", 1.0, "all", "4x", api_name="/run_velocity")
    with pytest.raises(Exception, match="Target speed 3 is greater than maximum 1"):  # episode.speed_max: tiny data
        other.predict("halfcheetah", "medium", "Q-ALIGN DT", 3.0, 0, "4x", api_name="/run_velocity")
    time.sleep(0.3)
    owner.predict(1.0, api_name="/set_velocity_target")
    time.sleep(0.5)
    owner.predict(api_name="/stop_velocity")
    _, plot, summary = job.result(timeout=60)
    series = requested_series(plot)
    assert "Stopped at step" in summary and series[0] == 0.5 and series[-1] == 1.0
    switch = series.index(1.0)
    assert set(series[:switch]) == {0.5} and set(series[switch:]) == {1.0}


def test_a_viewer_who_leaves_frees_the_engine(app_url):
    """A cancelled run (the page closed, the client gave up) stops its episode instead of playing it out."""
    c = client(app_url)
    job = c.submit("halfcheetah", "medium", "Q-ALIGN DT", 1.0, 0, api_name="/run_velocity")  # 50 s at real time
    deadline = time.time() + 60
    while not job.outputs() and time.time() < deadline:
        time.sleep(0.05)
    stream = app_url + json.loads(job.outputs()[0][0])["stream"]
    job.cancel()
    t0 = time.time()
    end = urllib.request.urlopen(stream, timeout=30).read().decode().rsplit("event: end", 1)[1]
    assert '"status":"stopped"' in end and time.time() - t0 < 10


def page_stats(page, view: str) -> dict:
    return page.evaluate(
        """(name) => {
            const v = window.qdtLive.views[name];
            const c = document.querySelector(`[data-view="${name}"] canvas.qdt-scene`);
            const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let robot = 0;  // pixels of the robots' own colour (MuJoCo rgba 0.8 0.6 0.4)
            for (let i = 0; i < px.length; i += 4)
                if (Math.abs(px[i] - 204) < 6 && Math.abs(px[i + 1] - 153) < 6 && Math.abs(px[i + 2] - 102) < 6) robot++;
            return {frames: v.frames, status: v.status, targets: v.trace.target, robot, width: c.width};
        }""",
        view,
    )


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed (packages-dev.txt)")
def test_browser_draws_the_episode_follows_the_slider_and_downloads_the_video(app_url):
    """In Chromium: the page draws a HalfCheetah episode itself, the trace follows a slider move mid-episode,
    and the MP4 rendered afterwards downloads. QDT_SCREENSHOT=<png> saves a screenshot of the page there."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1200}, accept_downloads=True)
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_role("tab", name="Target velocity").click()
        page.wait_for_function("window.qdtLive?.views?.velocity", timeout=60_000)
        page.locator("#pace-velocity label", has_text="4x").click()
        page.locator("#run-velocity").click()
        page.wait_for_function("window.qdtLive.views.velocity.frames > 0", timeout=30_000)
        first = page_stats(page, "velocity")
        page.wait_for_timeout(500)
        later = page_stats(page, "velocity")
        assert later["frames"] > first["frames"] and later["status"] == "running"
        assert later["robot"] > 200 and later["width"] >= 2 * 640, later  # both robots drawn, 640 px or more each
        speed = page.locator("#target-velocity input[type=number]")
        opened_at = float(speed.input_value())  # episode.speed_default of the tab's dataset
        moved = round(opened_at + 0.5, 1)  # inside episode.speed_max (at least twice the opening speed, and 1)
        speed.fill(str(moved))
        speed.dispatch_event("change")
        page.wait_for_function(f"window.qdtLive.views.velocity.trace.target.includes({moved})", timeout=15_000)
        assert page.evaluate("window.qdtLive.views.velocity.trace.q.qalign.v.length") > 0  # the critic's view
        targets = page_stats(page, "velocity")["targets"]
        assert targets[0] == opened_at and targets[-1] == moved
        page.locator("#stop-velocity").click()
        page.locator("#summary-velocity", has_text="Stopped at step").wait_for(timeout=30_000)
        page.wait_for_function("window.qdtLive.views.velocity.status === 'stopped'", timeout=10_000)
        if os.environ.get("QDT_SCREENSHOT"):
            page.screenshot(path=os.environ["QDT_SCREENSHOT"], full_page=True)
        page.locator("#export-velocity").click()
        with page.expect_download(timeout=60_000) as download:
            page.locator("#video-velocity a[download]").first.click(timeout=60_000)
        assert Path(download.value.path()).stat().st_size > 1000
        # ask for an outcome: the line under the slider says which RTG each model will be asked for
        page.get_by_role("tab", name="Target return").click()
        page.locator("#prediction", has_text="expected to achieve about").wait_for(timeout=30_000)
        page.locator("#ask label", has_text="Outcome").click()
        page.locator("#prediction", has_text="asked for RTG").wait_for(timeout=30_000)
        browser.close()
