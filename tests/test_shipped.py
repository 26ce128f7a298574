"""The checkpoints committed to the repo: every one loads, acts, and has the sweep the dashboard shows."""

from __future__ import annotations

import json

import numpy as np

from app import catalog
from core.envs import get_task
from core.evaluation import EPISODES, EVAL_SEED, protocol_targets
from core.metrics import in_data_range
from core.policy import ReturnConditionedPolicy
from core.store.layout import REPO_ROOT, shipped_model_paths, stale_models

SHIPPED = REPO_ROOT / "checkpoints"


def test_every_shipped_model_loads_and_acts(monkeypatch):
    monkeypatch.setenv("QDT_CHECKPOINTS", str(SHIPPED))
    found = catalog.available()
    for task in ("hopper", "walker2d", "halfcheetah"):
        for dataset in ("medium", "medium-replay"):
            assert sorted(found[task][dataset]) == ["dt", "qalign"], (task, dataset)
    paths = shipped_model_paths()
    assert len(paths) >= 20
    pair_seeds: dict[tuple[str, str, str], set[int]] = {}
    for path in paths:
        task_name, dataset, kind = path.parts[-4], path.parts[-3], path.parts[-2]
        policy = ReturnConditionedPolicy.load(path)
        assert (policy.meta["task"], policy.meta["dataset"], policy.meta["kind"]) == (task_name, dataset, kind)
        if path.name != "model":  # model-s<N> holds training seed N; ``model`` (the shown pair) any one seed
            assert policy.meta["seed"] == int(path.name.split("-s")[1])
        pair_seeds.setdefault((task_name, dataset, path.name), set()).add(policy.meta["seed"])
        env = get_task(task_name).make()
        obs, _ = env.reset(seed=0)
        policy.reset(obs[None], np.array([policy.meta["return_stats"]["max"]]))
        action = policy.act(obs[None])
        assert action.shape == (1, env.action_space.shape[0]) and np.all(np.abs(action) <= 1)
        env.close()
    mixed = {k: v for k, v in pair_seeds.items() if len(v) != 1}
    assert not mixed, f"a pair's two models come from different training seeds: {mixed}"


def test_every_shipped_pair_has_its_sweep_on_the_protocol_and_its_calibration_fitted_on_it():
    """Each shipped sweep is the alignment protocol's (``core.evaluation.protocol_targets``: at least 10 requests
    inside the data's return range, 5 episodes each, on the test seeds), so the Status tab reads issue 13's
    protocol; each calibration was fitted on the sweep shipped beside it."""
    for sweep_file in SHIPPED.glob("*/*/sweep*.json"):
        data = json.loads(sweep_file.read_text())
        assert set(data["models"]) == {"dt", "qalign"}
        stats = json.loads((sweep_file.parent / "dt" / "model.json").read_text())["return_stats"]
        for m in data["models"].values():
            targets = np.asarray(m["sweep"]["targets"])
            expected = np.clip(protocol_targets(stats), 0.0, None)  # a request below 0 is asked as 0
            assert np.allclose(targets, expected, rtol=1e-6), sweep_file
            assert (
                len(m["sweep"]["returns"]) == len(targets)
                and in_data_range(targets, stats["min"], stats["max"]).sum() >= 10
            )
            assert {len(r) for r in m["sweep"]["returns"]} == {EPISODES}
            assert m["sweep"]["seeds"][0][0] == EVAL_SEED
        if sweep_file.name == "sweep.json":
            calibration = json.loads((sweep_file.parent / "calibration.json").read_text())
            assert calibration["fitted_on"] == data["how"], f"{sweep_file.parent}: calibration fitted on another sweep"
    names = {p.relative_to(SHIPPED).as_posix() for p in SHIPPED.glob("*/*/sweep*.json")}
    for task in ("hopper", "walker2d", "halfcheetah"):
        assert {f"{task}/medium/sweep.json", f"{task}/medium-replay/sweep.json"} <= names
    for pair in ("hopper/medium", "halfcheetah/medium-replay"):
        assert {f"{pair}/sweep-s1.json", f"{pair}/sweep-s2.json"} <= names


def test_every_shipped_critic_records_the_budget_it_was_pre_trained_for():
    critics = sorted(SHIPPED.glob("*/*/qalign/critic.json"))
    assert len(critics) >= 8
    for path in critics:  # the Q-ALIGN stage's own config named another budget in five of them until session 25
        meta = json.loads(path.read_text())
        assert meta["critic_steps"] == meta["pretrained"]["step"], path


def test_every_shipped_models_data_can_be_rebuilt_or_is_marked_stale(monkeypatch):
    """Each shipped model records a fingerprint of its training data and the collection code rebuilds its slice
    bit for bit, or it is listed in checkpoints/stale.json (models trained before fingerprints existed)."""
    from core.data.fingerprint import check_shipped

    monkeypatch.setenv("QDT_CHECKPOINTS", str(SHIPPED))
    stale = stale_models()
    paths = {str(p.relative_to(SHIPPED)): p for p in shipped_model_paths()}
    assert set(stale) <= set(paths), "stale.json names models that are not shipped"
    for name, path in paths.items():
        meta = json.loads(path.with_suffix(".json").read_text())
        if name in stale:
            assert "data_fingerprint" not in meta, f"{name} has a fingerprint: check it instead of marking it stale"
            continue
        check_shipped(path.with_suffix(".json"))  # raises DataMismatch naming the model


def test_readme_says_where_the_slider_works_as_the_status_tab_does(monkeypatch):
    """README's "Where the slider works" rows are the Status tab's for the shipped models: shipping, replacing or
    re-sweeping a pair without updating the README fails here."""
    from app.status import slider_markdown

    def rows(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| task")]

    monkeypatch.setenv("QDT_CHECKPOINTS", str(SHIPPED))
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("### Where the slider works", 1)[1].split("\n\n", 3)[2]  # the table, after two paragraphs
    assert len(rows(section)) >= 20 and rows(section) == rows(slider_markdown())


def test_the_tabs_open_where_their_shipped_models_work_best(monkeypatch):
    """The return tab opens on Hopper `ladder-pure`; the velocity tab on HalfCheetah `pace` with the speed hold
    ticked (README, "Holding a speed": its shipped Q-ALIGN DT meets the speed bar held), other datasets unticked, and
    its slider at the middle of the data's speed range (session 28: tracked better there than at the old 1.5 m/s)."""
    from app import episode
    from app.main import build_app

    monkeypatch.setenv("QDT_CHECKPOINTS", str(SHIPPED))
    config = build_app().config
    props = [c["props"] for c in config["components"]]
    tasks = [p["value"] for p in props if p.get("label") == "Task"]
    datasets = [p["value"] for p in props if p.get("label") == "Training dataset"]
    holds = [p["value"] for p in props if p.get("label") == episode.HOLD_LABEL]
    speeds = [(p["value"], p["maximum"]) for p in props if p.get("label") == "Target speed (m/s)"]
    assert list(zip(tasks, datasets))[:2] == [("hopper", "ladder-pure"), ("halfcheetah", "pace")]  # return, velocity
    assert holds == [True]
    assert speeds == [(2.3, 9.5)]  # the middle of `pace`'s speeds (0.5 x 4.65 m/s), not the old fixed 1.5; top 2 x
    from core.calibration import fastest_speed

    app = build_app()
    on_task = next(f.fn for f in app.fns.values() if f.api_name == "velocity_task_changed")
    for task in ("hopper", "walker2d", "halfcheetah"):  # a new task: its dataset, slider and hold box together
        ds_u, slider, hold_u = on_task(task)
        ds, speed, hold = ds_u["value"], slider["value"], hold_u["value"]
        top = fastest_speed(get_task(task), catalog.return_stats(task, ds))
        assert abs(speed - 0.5 * top) <= 0.05 and 2 * top <= slider["maximum"] <= 2 * top + 0.5, (task, ds, slider)
        assert hold == episode.hold_default(task, ds)
    args = ("Q-ALIGN DT", 2.0, 0, "4x", "velocity")
    assert episode.request_for("halfcheetah", "pace", *args)[0].hold is not None
    assert episode.request_for("halfcheetah", "pace", *args, hold=False)[0].hold is None
    assert episode.request_for("halfcheetah", "control", *args)[0].hold is None
