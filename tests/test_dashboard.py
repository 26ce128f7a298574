"""The dashboard, driven the way users drive it: gradio_client API calls, several clients at once,
and a real Chromium through Playwright. One app subprocess serves every test here, on the tiny checkpoints."""

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
    proc = subprocess.Popen(
        [sys.executable, "app/main.py"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"app exited: {proc.stdout.read()[-2000:]}")
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


def test_api_return_episode_summary_and_video(app_url):
    c = client(app_url)
    frame, plot, summary, video = c.predict("hopper", "medium", "Both, side by side", 10, 3, api_name="/run_return")
    assert Path(frame).exists() and "requested return" in summary and "Q-ALIGN DT" in summary
    assert json.loads(plot["plot"])["data"][0]["name"] == "requested"
    assert Path(video).suffix == ".mp4" and Path(video).stat().st_size > 1000
    import imageio.v2 as imageio

    for seed in (4, 5):  # later episodes run on other worker threads: frames must not turn black
        frame, *_ = c.predict("hopper", "medium", "Both, side by side", 10, seed, api_name="/run_return")
        assert imageio.imread(frame).mean() > 10


def test_api_velocity_episode(app_url):
    c = client(app_url)
    _, _, summary, _ = c.predict("hopper", "medium", "Q-ALIGN DT", 1.0, 0, api_name="/run_velocity")
    assert "target speed" in summary and "1.00 m/s" in summary


def test_api_bad_input_is_clamped_or_refused_clearly(app_url):
    c = client(app_url)
    with pytest.raises(Exception, match="greater than maximum"):  # the slider's own range check
        c.predict("hopper", "medium", "Decision Transformer", 1e9, 0, api_name="/run_return")
    _, _, summary, _ = c.predict("hopper", "medium", "Decision Transformer", 10, -5, api_name="/run_return")
    assert "requested return" in summary  # a negative seed is clamped (with a warning) and the episode runs
    with pytest.raises(Exception) as err:
        c.predict("hopper", "expert", "Decision Transformer", 10, 0, api_name="/run_return")
    assert "Traceback" not in str(err.value)


def test_api_precomputed_and_quick_sweep(app_url):
    c = client(app_url)
    plot, table = c.predict("hopper", "medium", api_name="/precomputed_sweep")
    assert "Spearman" in table and plot is not None
    plot, table, files = c.predict("hopper", "medium", 2, 1, api_name="/quick_sweep")
    names = sorted(Path(f).name for f in files)
    assert names == ["sweep.csv", "sweep.json"]
    rows = Path([f for f in files if f.endswith(".csv")][0]).read_text().splitlines()
    assert rows[0].startswith("model,requested_return") and len(rows) == 1 + 2 * 2


def test_concurrent_clients_all_finish(app_url):
    def one(i):
        t0 = time.time()
        out = client(app_url).predict("hopper", "medium", "Q-ALIGN DT", 10 + i, i, api_name="/run_return")
        return time.time() - t0, out[2]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(4)))
    assert all("requested return" in summary for _, summary in results)
    print("concurrent episode wall times (s):", [round(t, 1) for t, _ in results])


def requested_series(plot: dict) -> list[float]:
    data = json.loads(plot["plot"])["data"]
    return next(trace["y"] for trace in data if trace["name"] == "requested")


def test_moving_the_target_mid_episode_changes_the_running_episode(app_url):
    """A HalfCheetah episode (1000 steps, never ends early) asked for 1 m/s; the target moves to 3 m/s while it
    runs: the same episode's trace then asks for 3 m/s from that step on."""
    c = client(app_url)
    job = c.submit("halfcheetah", "medium", "Q-ALIGN DT", 1.0, 0, api_name="/run_velocity")
    deadline = time.time() + 60
    while len(job.outputs()) < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert len(job.outputs()) >= 3, "the episode did not start streaming"
    c.predict(3.0, api_name="/set_velocity_target")
    series = []
    while time.time() < deadline and 3.0 not in series:
        plots = [out[1] for out in job.outputs() if isinstance(out[1], dict) and "plot" in out[1]]
        series = requested_series(plots[-1]) if plots else []
        time.sleep(0.1)
    c.predict(api_name="/stop_velocity")
    assert series[0] == 1.0 and 3.0 in series, "the running episode never saw the new target"
    switch = series.index(3.0)
    assert 0 < switch < len(series) and set(series[switch:]) == {3.0}


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed (packages-dev.txt)")
def test_browser_runs_an_episode_and_downloads_video(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_role("button", name="Run episode").first.wait_for(timeout=60_000)
        slider = page.get_by_label("Requested return").first
        slider.fill("15")
        slider.dispatch_event("change")
        page.get_by_role("button", name="Run episode").first.click()
        page.locator("img[src*='image']").first.wait_for(timeout=60_000)
        page.get_by_text("D4RL-normalised score").first.wait_for(timeout=90_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        with page.expect_download(timeout=30_000) as dl:
            page.locator("a[download='hopper-return.mp4']").first.click()
        path = Path(dl.value.path())
        assert path.stat().st_size > 1000
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000
