import json

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


def test_prediction_under_the_slider_and_outcome_asks(tiny_models):
    import gradio as gr
    import pytest

    from app import catalog, episode

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
    req, _, _ = episode.request_for(
        "hopper", "medium", "Decision Transformer", 20, 0, "4x", "return", episode.ASK_OUTCOME
    )
    assert req.outcome == {"dt": cals["dt"]} and req.asked("dt", 20.0) == cals["dt"].rtg_for(20.0)[0]
    assert episode.request_for("hopper", "medium", "Decision Transformer", 20, 0, "4x", "return")[0].outcome is None
    with pytest.raises(gr.Error, match="no measured sweep ships for halfcheetah/medium"):
        episode.request_for("halfcheetah", "medium", "Decision Transformer", 20, 0, "4x", "return", episode.ASK_OUTCOME)
    with pytest.raises(gr.Error, match="Ask for"):
        episode.request_for("hopper", "medium", "Decision Transformer", 20, 0, "4x", "return", "whatever")
