import json

import numpy as np

from app.main import build_app
from app.status import behaviour_table
from app.text import NO_MODELS

API = {"run_return", "run_velocity", "set_return_target", "stop_return", "quick_sweep", "precomputed_sweep"}


def api_names(demo) -> set[str]:
    return {d.get("api_name") for d in demo.config["dependencies"]}


def markdown_values(demo) -> list[str]:
    return [c["props"].get("value") or "" for c in demo.config["components"] if c["type"] == "markdown"]


def test_app_without_models_says_how_to_train_them(roots):
    demo = build_app()
    assert any(NO_MODELS in v for v in markdown_values(demo))
    assert API <= api_names(demo)  # every action stays an endpoint, even with nothing to run


def test_app_lists_the_shipped_models(tiny_models):
    demo = build_app()
    assert not any(NO_MODELS in v for v in markdown_values(demo))
    dropdowns = [c["props"] for c in demo.config["components"] if c["type"] == "dropdown"]
    tasks = {tuple(ch[0] for ch in d["choices"]) for d in dropdowns if d.get("label") == "Task"}
    assert tasks == {("halfcheetah", "hopper")}


def test_behaviour_table_reads_levels(roots):
    d = roots["checkpoints"] / "behavior" / "hopper"
    d.mkdir(parents=True)
    lv = {k: {"mean": v} for k, v in (("random", -10.0), ("medium", 1200.0), ("expert", 3234.3))}
    (d / "levels.json").write_text(json.dumps(lv))
    rows = {r[0]: r for r in behaviour_table()}
    assert rows["hopper"][1:4] == [-10.0, 1200.0, 3234.3] and rows["hopper"][4] == "100"
    assert rows["walker2d"][-1] == "not trained yet"


def test_prediction_under_the_slider_and_outcome_asks(writable_models):
    """Under the slider: each model's expected return; asking for an outcome, the RTG sent, greyed out beyond its
    measured reach, and how far that way of asking missed for it on fresh seeds (where ``core.calibrate`` measured)."""
    import gradio as gr
    import pytest

    from app import catalog, episode
    from app.catalog import CHOICE_BOTH
    from core.store.layout import Run

    cals = catalog.calibrations("hopper", "medium")
    lo, hi = cals["dt"].reachable
    text = episode.prediction_markdown("hopper", "medium", catalog.CHOICE_BOTH, 10, episode.ASK_RTG)
    assert text.count("expected to achieve about") == 2 and f"{cals['dt'].predict(10):,.0f}" in text
    inside = episode.prediction_markdown("hopper", "medium", "Decision Transformer", (lo + hi) / 2, episode.ASK_OUTCOME)
    rtg, ok = cals["dt"].rtg_for((lo + hi) / 2)
    assert ok and f"asked for RTG {rtg:,.0f}" in inside and episode.GREY not in inside
    beyond = episode.prediction_markdown("hopper", "medium", "Decision Transformer", hi + 100, episode.ASK_OUTCOME)
    assert episode.GREY in beyond and "out of its measured reach" in beyond
    assert episode.prediction_markdown("hopper", "medium", "Decision Transformer", "abc", episode.ASK_OUTCOME) == ""
    assert "measured on fresh seeds" not in inside  # no calibration measurement ships with the tiny models
    run = Run("hopper", "medium")
    measured = {"models": {"dt": {"without": {"mean_abs_error": 210.4}, "with": {"mean_abs_error": 157.2}}}}
    run.calibration_path.write_text(json.dumps(measured))
    inside = episode.prediction_markdown("hopper", "medium", CHOICE_BOTH, (lo + hi) / 2, episode.ASK_OUTCOME)
    assert "by 157 on average through the calibration, 210 asking them as the RTG (the calibration helps it)" in inside
    assert inside.count("measured on fresh seeds") == 1  # the Q-ALIGN DT has no measurement: nothing claimed for it
    measured["models"]["dt"]["with"]["mean_abs_error"] = 250.0
    run.calibration_path.write_text(json.dumps(measured))
    inside = episode.prediction_markdown("hopper", "medium", "Decision Transformer", (lo + hi) / 2, episode.ASK_OUTCOME)
    assert "by 250 on average through the calibration, 210 asking them as the RTG (asking the return itself" in inside
    assert "measured on fresh seeds" not in episode.prediction_markdown(
        "hopper", "medium", "Decision Transformer", (lo + hi) / 2, episode.ASK_RTG
    )
    req, _, _ = episode.request_for(
        "hopper", "medium", "Decision Transformer", 20, 0, "4x", "return", episode.ASK_OUTCOME
    )
    assert req.outcome == {"dt": cals["dt"]} and req.asked("dt", 20.0) == cals["dt"].rtg_for(20.0)[0]
    assert episode.request_for("hopper", "medium", "Decision Transformer", 20, 0, "4x", "return")[0].outcome is None
    with pytest.raises(gr.Error, match="no measured sweep ships for halfcheetah/medium"):
        episode.request_for("halfcheetah", "medium", "Decision Transformer", 20, 0, "4x", "return", episode.ASK_OUTCOME)
    with pytest.raises(gr.Error, match="Ask for"):
        episode.request_for("hopper", "medium", "Decision Transformer", 20, 0, "4x", "return", "whatever")


def test_holding_a_speed_is_a_checked_velocity_option(tiny_models):
    """Velocity requests carry the speed hold when ticked (left out: the dataset's default, open loop except on
    HalfCheetah `pace`); return requests never do; anything but true / false gets an error naming the field."""
    import gradio as gr
    import pytest

    from app import episode
    from core.calibration import SpeedHoldConfig

    args = ("halfcheetah", "medium", "Decision Transformer", 1.0, 0, "4x", "velocity")
    assert episode.request_for(*args, hold=True)[0].hold == SpeedHoldConfig()
    assert episode.request_for(*args, hold=False)[0].hold is None
    assert episode.request_for(*args)[0].hold is None  # left out: open loop, except where HOLD_ON says held
    assert episode.hold_default("halfcheetah", "pace") and not episode.hold_default("halfcheetah", "control")
    assert episode.speed_default(None, None) == episode.SPEED_DEFAULT
    assert 0.1 <= episode.speed_default("halfcheetah", "medium") <= episode.MAX_SPEED  # tiny data that hardly runs
    assert (
        episode.request_for("hopper", "medium", "Decision Transformer", 20, 0, "4x", "return", hold=True)[0].hold
        is None
    )
    with pytest.raises(gr.Error, match="Hold the speed must be true or false"):
        episode.request_for(*args, hold="yes")


def test_alignment_tab_shows_the_critics_gate_record(writable_models):
    """The Alignment tab names the critic the shipped Q-ALIGN model aligned with and its gate scores and verdict,
    and says so when the model recorded none."""
    from app.alignment_tab import critic_table

    path = writable_models["qalign"].with_suffix(".json")
    meta = json.loads(path.read_text())
    meta.pop("critic", None)
    path.write_text(json.dumps(meta))
    assert "predates the critic quality gate" in critic_table("hopper", "medium")
    gate = {"value_spearman": 0.5, "ranking_agreement": 0.6, "sensitivity": 1.0}
    quality = {"value_spearman": 0.98, "ranking_agreement": 0.55, "ranking_ceiling": 0.76, "sensitivity": 1.7}
    meta["critic"] = {"objective": "sarsa", "step": 65000, "gate": "failed (overridden by --allow-weak-critic)",
                      "quality": quality | {"thresholds": gate}}  # fmt: skip
    path.write_text(json.dumps(meta))
    table = critic_table("hopper", "medium")
    assert "sarsa, 65,000 steps" in table and "**failed (overridden by --allow-weak-critic)**" in table
    assert "| 0.98 (needs 0.5) | 0.55 (needs 0.6; a perfect critic: 0.76) | 1.70 (needs 1.0) |" in table


def test_episode_figure_puts_the_critic_on_its_own_axis():
    from app.episode import trace_figure

    trace = {"t": [1, 2, 3], "target": [900.0] * 3, "qalign:return": [3.0, 6.0, 9.0], "qalign:q": [300.0, 310.0, 305.0]}
    fig = trace_figure(trace, "return", "requested")
    q = [t for t in fig.data if t.name.endswith("right axis")]
    assert len(q) == 1 and q[0].yaxis == "y2" and fig.layout.yaxis2.overlaying == "y"
    assert all(t.yaxis in (None, "y") for t in fig.data if t is not q[0])  # returns stay on the left axis
    no_q = trace_figure({k: v for k, v in trace.items() if k != "qalign:q"}, "return", "requested")
    assert "yaxis2" not in no_q.to_dict()["layout"]


def test_alignment_tab_says_what_each_shown_model_is(writable_models):
    """The model card gives each shown model's training seed, budget and network, and whether its data can be
    rebuilt (fingerprint) or is marked stale (with the reason from stale.json)."""
    from app.alignment_tab import model_card
    from core.store.layout import checkpoints_root

    meta = json.loads(writable_models["qalign"].with_suffix(".json").read_text())
    card = model_card("hopper", "medium")
    pre = meta["train_config"]["pretrain_steps"]
    assert f"| Q-ALIGN DT | {meta['seed']} | {pre:,} BC + {meta['step'] - pre:,} alignment steps" in card
    assert f"embed {meta['dt_config']['embed_dim']}, " in card and "Decision Transformer" in card
    assert "cannot be rebuilt" not in card
    (checkpoints_root() / "stale.json").write_text(json.dumps({"hopper/medium/dt/model": "made before fingerprints"}))
    lines = model_card("hopper", "medium").splitlines()
    assert "cannot be rebuilt (stale): made before fingerprints" in next(
        x for x in lines if "| Decision Transformer |" in x
    )
    assert "cannot be rebuilt" not in next(x for x in lines if "| Q-ALIGN DT |" in x)
    assert model_card("hopper", "no-such-dataset") == ""
    assert "mixture" not in card
    meta["dt_config"] |= {"action_head": "mixture", "n_modes": 5}
    writable_models["qalign"].with_suffix(".json").write_text(json.dumps(meta))
    assert "mixture action head (5 modes) |" in next(
        x for x in model_card("hopper", "medium").splitlines() if "| Q-ALIGN DT |" in x
    )


def test_status_tab_says_where_the_slider_works(writable_models):
    """One row per shown model, read off its shipped sweep: how many requests (inside the data's range) and
    episodes, the in-range numbers, "yes" exactly when no bar is missed (else the missed bars), the shipped
    calibration's measured error without -> with, rebuildable or stale; a pair without a sweep says so instead of
    numbers."""
    from app.status import slider_table
    from core.metrics import bars_missed, beside_bar, in_data_range
    from core.store.layout import Run, checkpoints_root

    run = Run("hopper", "medium")
    sweep = json.loads(run.sweep_path.read_text())
    measured = {"models": {"dt": {"without": {"mean_abs_error": 120.4}, "with": {"mean_abs_error": 1035.2}}}}
    run.calibration_path.write_text(json.dumps(measured))  # the DT's alone: the other row says it has none
    rows = {r[2]: r for r in slider_table() if r[:2] == ["hopper", "medium"]}
    assert set(rows) == {"Q-ALIGN DT", "Decision Transformer"}
    stats = sweep["return_stats"]
    for kind, name in (("qalign", "Q-ALIGN DT"), ("dt", "Decision Transformer")):
        m, targets = sweep["models"][kind]["metrics"], np.asarray(sweep["models"][kind]["sweep"]["targets"])
        row = rows[name]
        inside, episodes = (
            int(in_data_range(targets, stats["min"], stats["max"]).sum()),
            len(sweep["models"][kind]["sweep"]["returns"][0]),
        )
        assert row[4] == f"{len(targets)} ({inside}) x {episodes}" and 0 < inside < len(targets)
        assert row[5] == beside_bar(m["in_range"]["spearman"], 0.95)
        assert row[6] == beside_bar(m["in_range"]["alignment_error"], 0.10, digits=3)
        missed = bars_missed(m)
        assert row[9] == ("yes" if not missed else "no: " + ", ".join(missed)) and row[11] == "rebuildable"
    assert rows["Decision Transformer"][10] == "120 -> 1,035" and rows["Q-ALIGN DT"][10] == "-"
    (checkpoints_root() / "stale.json").write_text(json.dumps({"hopper/medium/dt/model": "made before fingerprints"}))
    run.sweep_path.unlink()
    rows = {r[2]: r for r in slider_table() if r[:2] == ["hopper", "medium"]}
    assert rows["Decision Transformer"][11].startswith("stale") and rows["Q-ALIGN DT"][11] == "rebuildable"
    assert all(r[5] == "-" and r[9].startswith("no shipped sweep") for r in rows.values())


def test_an_empty_number_is_asked_for_within_the_bounds_there_are():
    """No "between 0 and inf": a field with no upper bound (the live target before an episode sets it) says so."""
    import math

    import gradio as gr
    import pytest

    from app.validate import number

    for hi, words in ((5.0, "between 0 and 5"), (math.inf, "of at least 0")):
        with pytest.raises(gr.Error, match=f"Target is empty: enter a number {words}\\."):
            number("", "Target", 0.0, hi)
    assert number(" 7 ", "Target", 0.0, math.inf) == 7.0
