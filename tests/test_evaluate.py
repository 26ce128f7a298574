import json
import os

from tests.test_behavior import run_cli


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
        env=dict(os.environ),
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
        assert m["velocity"]["schedule"] == [[0, 0.5], [500, 1.0]]
    assert (folder / "alignment.html").stat().st_size > 10_000 and (folder / "velocity.html").exists()


def test_evaluate_rejects_unknown_model(tiny_models, roots):
    import pytest

    from core.evaluate import EvalConfig, run

    with pytest.raises(ValueError, match="valid: dt, qalign"):
        run(EvalConfig(models="dt,foo"))


def test_report_table_from_evaluation(tiny_models, roots):
    from core.evaluate import EvalConfig, run
    from core.report import main as report_main

    run(EvalConfig(n_targets=3, episodes=2, velocity=(1.0,)))
    text = report_main([str(roots["results"] / "hopper" / "medium" / "report.json")])
    lines = text.splitlines()
    assert len(lines) == 4 and lines[2].startswith("| hopper | medium | DT |") and "Q-ALIGN DT" in lines[3]


def test_diagnose_probe_runs_on_tiny_models(tiny_models):
    from core.diagnose import SHIFTS, DiagnoseConfig, probe

    out = probe(DiagnoseConfig(windows=16))
    assert ("after Q-ALIGN", "qalign") in out and len(out[("pretrained", "dt")]["q"]) == len(SHIFTS)


def test_video_cli_records_side_by_side_mp4(tiny_models, roots):
    import os

    from tests.test_behavior import run_cli as cli

    out = roots["results"] / "demo.mp4"
    text = cli(
        "core.video", "--task", "hopper", "--max-steps", "12", "--size", "64", "--out", str(out), env=dict(os.environ)
    )
    assert "requested" in text and out.stat().st_size > 1000


def test_training_seeds_ship_apart_and_aggregate(tiny_models, roots):
    import numpy as np

    from core.evaluate import EvalConfig, run
    from core.report import main as report_main
    from core.training.config import preset
    from core.training.stages import Run, run_stage

    for stage in ("critic", "dt", "qalign"):
        run_stage(stage, "hopper", "medium", preset("tiny"), seed=1)
    assert Run("hopper", "medium", 1).model_path("dt").name == "model-s1"
    reports = [run(EvalConfig(n_targets=3, episodes=2, seed=s, ship=True)) for s in (0, 1)]
    ckpts, results = roots["checkpoints"] / "hopper" / "medium", roots["results"] / "hopper" / "medium"
    assert (ckpts / "sweep.json").exists() and (ckpts / "sweep-s1.json").exists()  # seed 1 does not overwrite 0
    assert json.loads((ckpts / "sweep-s1.json").read_text())["how"].split(";")[0].endswith("training seed 1")
    text = report_main([str(results / "report.json"), str(results / "s1" / "report.json")])
    assert "| hopper | medium (seed 1) | DT |" in text
    row = next(line for line in text.splitlines() if line.startswith("| hopper | medium | DT | 0, 1 |"))
    best = [r["models"]["dt"]["metrics"]["best_return"] for r in reports]
    assert f"{np.mean(best):,.0f} +/- {np.std(best):,.0f}" in row
