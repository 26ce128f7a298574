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
