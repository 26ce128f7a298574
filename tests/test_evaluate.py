import json
import shutil

import numpy as np
import pytest

from core.evaluate import main as evaluate_main
from tests.conftest import run_cli


def test_evaluate_cli_writes_report_and_figures(tiny_models, roots):
    out = run_cli(
        "core.evaluate",
        "--task",
        "hopper",
        "--dataset",
        "medium",
        "--models",
        "dt,qalign",
        "--episodes",
        "2",
        "--n-targets",
        "3",
        "--velocity",
        "0.5",
        "1.0",
        "--no-png",
    )
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert [x["model"] for x in lines] == ["dt", "qalign"]
    folder = roots["results"] / "hopper" / "medium"
    report = json.loads((folder / "report.json").read_text())
    for kind in ("dt", "qalign"):
        m = report["models"][kind]
        assert len(m["sweep"]["targets"]) == 3 and len(m["sweep"]["returns"][0]) == 2
        assert m["sweep"]["seeds"][0] == [100_000, 100_001]
        rho = m["metrics"]["all"]["spearman"]
        assert rho != rho or -1 <= rho <= 1  # NaN when a tiny model's returns do not vary
        vel = m["velocity"]
        assert vel["schedule"] == [[0, 0.5], [500, 1.0]] and vel["episodes"] == 2  # the sweep's two reset seeds
        assert "schedule_error_1s" in vel  # NaN here: a tiny model falls before a segment settles
    assert (folder / "alignment.html").stat().st_size > 10_000 and (folder / "velocity.html").exists()


def test_the_protocol_puts_ten_requests_inside_the_data_range_with_the_fewest_evenly_spaced():
    """Issue 13's done-when: at least 10 requests over the data's range. A wide range takes 10-12 requests from p5 to
    1.2x the best; HalfCheetah medium's narrow one (p5 2,046, best 2,664) takes 18."""
    from core.evaluation import default_targets, protocol_targets
    from core.metrics import in_data_range

    for stats, n in (
        ({"min": -150.0, "p5": 0.0, "max": 5000.0}, 12),
        ({"min": 2.4, "p5": 6.1, "max": 3722.9}, 12),
        ({"min": 1500.0, "p5": 2046.0, "max": 2664.0}, 18),
    ):
        targets = protocol_targets(stats)
        inside = in_data_range(targets, stats["min"], stats["max"])
        assert len(targets) == n and inside.sum() == 10
        assert targets[0] == stats["p5"] and np.isclose(targets[-1], 1.2 * stats["max"])
        assert in_data_range(default_targets(stats, n - 1, 1.2), stats["min"], stats["max"]).sum() < 10  # the fewest
    with pytest.raises(ValueError, match="puts 10 requests inside"):
        protocol_targets({"min": 0.0, "p5": 10.0, "max": 1.0})  # best below p5: no spacing can


def test_evaluate_rejects_unknown_model(tiny_models, roots):
    import pytest

    from core.evaluate import EvalConfig, run

    with pytest.raises(ValueError, match="valid: dt, qalign"):
        run(EvalConfig(models="dt,foo", png=False))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n-targets", "-3"], "--n-targets must be >= 0 \\(0: the protocol's\\) \\(got -3\\)"),
        (["--episodes", "0"], "--episodes must be >= 1"),
        (["--high-factor", "nan"], "--high-factor must be a number > 0"),
        (["--velocity", "1.5", "-1"], "--velocity must be speeds >= 0"),
        (["--speed-hold", "-0.3", "--threads", "0"], "--speed-hold must be >= 0 .*; --threads must be >= 1"),
    ],
)
def test_evaluate_refuses_numbers_out_of_range_naming_the_option(args, message):
    """Checked at the edge, before any model or data is loaded."""
    with pytest.raises(ValueError, match=message):
        evaluate_main(["--task", "hopper", "--dataset", "medium", *args])


def test_evaluate_asks_speeds_through_a_sweeps_calibration(tiny_models, roots, tmp_path):
    """--velocity-calibration: each model's speed requests go through its sweep's calibration (recorded in the
    report), and a sweep without one of the models is refused by name."""
    import pytest

    from core.evaluate import EvalConfig, run

    sweep = {"models": {k: {"sweep": {"targets": [0.0, 500.0], "returns": [[0.0], [250.0]]}} for k in ("dt",)}}
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(sweep))
    with pytest.raises(ValueError, match="no sweep for \\['qalign'\\]"):
        run(EvalConfig(n_targets=2, episodes=1, velocity=(1.0,), png=False, velocity_calibration=path))
    report = run(
        EvalConfig(models="dt", n_targets=2, episodes=1, velocity=(1.0,), png=False, velocity_calibration=path)
    )
    vel = report["models"]["dt"]["velocity"]
    assert vel["calibrated"] and vel["smooth"]["calibrated"]
    plain = run(EvalConfig(models="dt", n_targets=2, episodes=1, velocity=(1.0,), png=False))
    assert not plain["models"]["dt"]["velocity"]["calibrated"]


def test_report_table_from_evaluation(tiny_models, roots):
    from core.evaluate import EvalConfig, run
    from core.report import main as report_main

    run(EvalConfig(n_targets=3, episodes=2, velocity=(1.0,), png=False))
    text = report_main([str(roots["results"] / "hopper" / "medium" / "report.json")])
    lines = text.splitlines()
    assert len(lines) == 4 and lines[2].startswith("| hopper | medium | DT |") and "Q-ALIGN DT" in lines[3]


def test_diagnose_probe_runs_on_tiny_models(tiny_models):
    from core.diagnose import SHIFTS, DiagnoseConfig, probe

    out = probe(DiagnoseConfig(windows=16))
    assert ("after Q-ALIGN", "qalign") in out and len(out[("pretrained", "dt")]["q"]) == len(SHIFTS)


def test_history_move_is_zero_for_a_model_that_ignores_its_past():
    from types import SimpleNamespace

    import torch

    from core.diagnose import history_move

    g = torch.Generator().manual_seed(0)
    B, K = 6, 4
    w = SimpleNamespace(
        rtg=torch.rand(B, K, generator=g),
        states=torch.randn(B, K, 3, generator=g),
        actions=torch.randn(B, K, 2, generator=g),
        timesteps=torch.arange(K).repeat(B, 1),
        mask=torch.ones(B, K, dtype=torch.bool),
    )
    w.mask[0, 0] = False  # a padded window is left out
    now_only = lambda rtg, s, a, t, m: s[..., :2] + rtg[..., None]  # noqa: E731
    copycat = lambda rtg, s, a, t, m: a.cumsum(1)  # noqa: E731  the last output sums the past actions
    assert history_move(now_only, w) == 0.0
    assert history_move(copycat, w) > 0.1
    w.mask[1:, 0] = False
    assert history_move(now_only, w) != history_move(now_only, w)  # nan: fewer than two full windows


def test_video_cli_records_side_by_side_mp4(tiny_models, roots):
    out = roots["results"] / "demo.mp4"
    text = run_cli("core.video", "--task", "hopper", "--max-steps", "12", "--size", "64", "--out", str(out))
    assert "requested" in text and out.stat().st_size > 1000


def test_training_seeds_ship_apart_and_aggregate(writable_models, roots):
    import numpy as np

    from core.evaluate import EvalConfig, run
    from core.report import main as report_main
    from core.store.layout import Run
    from core.training.config import preset
    from core.training.driver import run_stage

    for stage in ("critic", "dt", "qalign"):
        run_stage(stage, "hopper", "medium", preset("tiny"), seed=1, allow_weak_critic=True)
    assert Run("hopper", "medium", 1).model_path("dt").name == "model-s1"
    reports = [run(EvalConfig(n_targets=3, episodes=2, seed=s, ship=True, png=False)) for s in (0, 1)]
    ckpts, results = roots["checkpoints"] / "hopper" / "medium", roots["results"] / "hopper" / "medium"
    assert (ckpts / "sweep.json").exists() and (ckpts / "sweep-s1.json").exists()  # seed 1 does not overwrite 0
    assert json.loads((ckpts / "sweep-s1.json").read_text())["how"].split(";")[0].endswith("training seed 1")
    text = report_main([str(results / "report.json"), str(results / "s1" / "report.json")])
    assert "| hopper | medium (seed 1) | DT |" in text
    row = next(line for line in text.splitlines() if line.startswith("| hopper | medium | DT | 0, 1 |"))
    best = [r["models"]["dt"]["metrics"]["best_return"] for r in reports]
    assert f"{np.mean(best):,.0f} +/- {np.std(best):,.0f}" in row

    # a pair of training seed 1 promoted to the shown slot (``model``): its sweep says which seed made it
    for kind in ("dt", "qalign"):
        for suffix in (".json", ".safetensors"):
            src = Run("hopper", "medium", 1).model_path(kind).with_suffix(suffix)
            shutil.copy(src, Run("hopper", "medium").model_path(kind).with_suffix(suffix))
    shown = run(EvalConfig(n_targets=3, episodes=2, seed=0, ship=True, png=False))
    sweep = json.loads((ckpts / "sweep.json").read_text())
    assert shown["seed"] == sweep["seed"] == 1 and sweep["how"].split(";")[0].endswith("training seed 1")
    assert shown["models"]["dt"]["sweep"] == reports[1]["models"]["dt"]["sweep"]  # the same models, same seeds


def test_task_name_is_normalised_at_the_edge(writable_models, roots):
    """``--task HalfCheetah`` and ``--task halfcheetah`` write the same files in the same places (and get the
    HalfCheetah velocity schedule); a path is never built from an unnormalised name."""
    import pytest

    from core.evaluate import main as evaluate_main
    from core.store.layout import Run

    def files() -> dict[str, str]:
        found = {}
        for root in (roots["results"], roots["checkpoints"]):
            for p in sorted(root.rglob("*.json")):
                data = json.loads(p.read_text())
                for volatile in ("how", "config"):
                    data.pop(volatile, None)
                found[str(p.relative_to(root.parent))] = json.dumps(data, sort_keys=True)
        return found

    args = ["--dataset", "medium", "--models", "dt", "--n-targets", "2", "--episodes", "1", "--ship", "--no-png"]
    reports = {}
    for spelling in ("HalfCheetah", "halfcheetah"):
        reports[spelling] = evaluate_main(["--task", spelling, *args])
        snapshot = files()
        if spelling == "HalfCheetah":
            first = snapshot
    assert snapshot == first and any(k.endswith("halfcheetah/medium/sweep.json") for k in snapshot)
    assert not [p for p in roots["results"].rglob("*") if "HalfCheetah" in p.name]
    assert all("velocity" in m for m in reports["HalfCheetah"]["models"].values())
    with pytest.raises(ValueError, match="not a normalised task name"):
        Run("HalfCheetah", "medium")


def test_dashboard_quick_sweep_and_cli_write_the_same_sweep_json(tiny_models, roots):
    """Both go through core.evaluation: same requests and seeds give the same file, number for number."""
    from pathlib import Path

    from app.alignment_tab import HIGH_FACTOR, QUICK_SEED, quick_sweep
    from core.evaluate import EvalConfig, run

    _, _, files = quick_sweep("hopper", "medium", 3, 2, progress=lambda *a, **k: None)
    dashboard = json.loads(Path(next(f for f in files if f.endswith(".json"))).read_text())
    run(EvalConfig(n_targets=3, episodes=2, eval_seed=QUICK_SEED, high_factor=HIGH_FACTOR, png=False))
    cli = json.loads((roots["results"] / "hopper" / "medium" / "sweep.json").read_text())
    assert set(dashboard) == set(cli) and dashboard["eval_seed"] == cli["eval_seed"] == QUICK_SEED
    assert dashboard["models"] == cli["models"]
    csv_rows = Path(next(f for f in files if f.endswith(".csv"))).read_text().splitlines()
    cli_rows = (roots["results"] / "hopper" / "medium" / "sweep.csv").read_text().splitlines()
    assert csv_rows[0] == cli_rows[0] and sorted(csv_rows[1:]) == sorted(cli_rows[1:])  # models in another order


def test_a_seed_with_no_shipped_model_names_what_is_shipped(tiny_models, roots):
    """Asking for a training seed that has no files is refused before any rollout, naming the shipped models and
    their training seeds (the shown ``model`` pair need not be seed 0), not a missing-file error deep in loading."""
    with pytest.raises(ValueError, match=r"at --seed 3 .*shipped there: dt/model \(training seed 0\)"):
        evaluate_main(["--task", "hopper", "--dataset", "medium", "--seed", "3", "--n-targets", "2", "--no-png"])
    with pytest.raises(ValueError, match="nothing is shipped for that task and dataset"):
        evaluate_main(["--task", "hopper", "--dataset", "expert", "--n-targets", "2", "--no-png"])
