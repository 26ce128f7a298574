import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from core.store.checkpoint import CheckpointError, load_model
from core.store.layout import Run
from core.training.config import preset
from core.training.driver import run_stage
from tests.conftest import obs_batch, run_cli


@pytest.fixture
def tiny_cfg():
    return preset("tiny")


def test_bc_reduces_loss(tiny_dataset, tiny_cfg):
    cfg = replace(tiny_cfg, pretrain_steps=120, align_steps=0, lr=3e-3, log_every=10, save_every=1000)
    res = run_stage("dt", "hopper", "medium", cfg)
    log = [json.loads(line) for line in res.log_path.read_text().splitlines()]
    first, last = log[0]["losses/bc"], np.mean([r["losses/bc"] for r in log[-3:]])
    assert last < 0.8 * first


def test_critic_td_loss_falls(tiny_dataset, tiny_cfg):
    cfg = replace(tiny_cfg, critic_steps=150, critic_lr=1e-3, log_every=10)
    res = run_stage("critic", "hopper", "medium", cfg)
    log = [json.loads(line) for line in res.log_path.read_text().splitlines()]
    assert np.mean([r["losses/critic"] for r in log[-3:]]) < log[0]["losses/critic"]


def test_qalign_needs_critic_and_pretrain(tiny_dataset, tiny_cfg):
    with pytest.raises(FileNotFoundError, match="--stage critic"):
        run_stage("qalign", "hopper", "medium", tiny_cfg)


def test_three_stages_then_save_load_round_trip(tiny_dataset, tiny_cfg):
    # Q-ALIGN's config names another critic budget: the critic's JSON keeps the one it was pre-trained for
    for stage in ("critic", "dt", "qalign"):
        cfg = replace(tiny_cfg, critic_steps=tiny_cfg.critic_steps + 1000) if stage == "qalign" else tiny_cfg
        res = run_stage(stage, "hopper", "medium", cfg, allow_weak_critic=True)
    assert res.step == tiny_cfg.total_actor_steps and "losses/align" in res.metrics
    actor, meta = load_model(res.checkpoint)
    assert meta["kind"] == "qalign" and meta["rtg_scale"] == 1000.0 and len(meta["obs_mean"]) == 11
    assert meta["return_stats"]["max"] >= meta["return_stats"]["min"]
    from safetensors.torch import load_file

    stored = load_file(str(res.checkpoint.with_suffix(".safetensors")))
    for k, v in actor.state_dict().items():
        assert torch.equal(v, stored[k]), k
    from core.store.checkpoint import load_critic

    critic, cmeta = load_critic(Run("hopper", "medium").shipped_critic_path("qalign"))  # for the critic's view
    assert cmeta["stage"] == "qalign" and "overridden" in cmeta["pretrained"]["gate"] and critic.obs_dim == 11
    assert cmeta["critic_steps"] == cmeta["pretrained"]["step"] == tiny_cfg.critic_steps
    assert not Run("hopper", "medium").shipped_critic_path("dt").with_suffix(".json").exists()
    dt_actor, _ = load_model(Run("hopper", "medium").model_path("dt"))
    args = [
        torch.zeros(2, 5),
        torch.zeros(2, 5, 11),
        torch.zeros(2, 5, 3),
        torch.zeros(2, 5, dtype=torch.long),
        torch.ones(2, 5, dtype=torch.bool),
    ]
    assert not torch.equal(actor(*args), dt_actor(*args)), "the alignment stage changed nothing"


def test_reversed_direction_hands_the_alignment_loss_the_opposite_request(tiny_dataset, tiny_cfg, monkeypatch):
    # the control (--cfg.align-direction reversed) changes the sign the loss reads, and nothing before it
    from core.data.dataset import load_offline_data
    from core.data.windows import FlatData, WindowSampler
    from core.envs import get_task
    from core.seeding import set_seed
    from core.training import updates

    data = load_offline_data("hopper", "medium")
    flat = FlatData(data, get_task("hopper").rtg_scale, torch.device("cpu"))
    real, seen = updates.L.alignment_loss, []

    def spy(q_pert, q_orig, sign, *rest):
        seen.append((q_pert.detach().clone(), sign.clone()))
        return real(q_pert, q_orig, sign, *rest)

    monkeypatch.setattr(updates.L, "alignment_loss", spy)
    metrics = {}
    for direction in ("request", "reversed"):
        cfg = replace(tiny_cfg, align_direction=direction)
        set_seed(0)
        st = updates.ActorState(cfg, data.obs_dim, data.act_dim)
        cs = updates.CriticState(cfg, data.obs_dim, data.act_dim)
        qa = updates.QAlign(st, cs, cfg, "hopper", data.return_stats["max"], get_task("hopper").rtg_scale)
        gen = torch.Generator().manual_seed(0)
        w = WindowSampler(flat, cfg.dt.context_len, gen, cfg.window_sampling).sample(8)
        metrics[direction] = qa.actor_step(w, 0, gen)
    (q_req, asked), (q_rev, reversed_) = seen
    assert torch.equal(q_req, q_rev), "the same actions and values up to the loss"
    assert torch.equal(reversed_, -asked) and asked.abs().sum() > 0
    assert metrics["request"]["losses/align"] != metrics["reversed"]["losses/align"]


def test_ship_weights_picks_raw_or_ema_actor(tiny_dataset, tiny_cfg):
    from safetensors.torch import load_file

    shipped = {}
    for which in ("raw", "ema"):
        cfg = replace(tiny_cfg, ship_weights=which, ema_decay=0.9)
        res = run_stage("dt", "hopper", "medium", cfg, seed=3, resume=False)
        state = load_file(str(Run("hopper", "medium", 3).stage_dir("dt") / "state.safetensors"))
        shipped[which] = load_file(str(res.checkpoint.with_suffix(".safetensors")))
        source = "actor" if which == "raw" else "ema"
        for k, v in shipped[which].items():
            assert torch.equal(v, state[f"{source}.{k}"]), (which, k)
    assert not all(torch.equal(shipped["raw"][k], shipped["ema"][k]) for k in shipped["raw"])


class Interrupt(Exception):
    pass


def interrupt_at(n):
    def progress(step, total, metrics):
        if step == n:
            raise Interrupt

    return progress


@pytest.mark.parametrize("stage", ["dt", "qalign"])
def test_killed_run_resumes_to_identical_weights(tiny_dataset, tiny_cfg, roots, stage):
    cfg = replace(tiny_cfg, pretrain_steps=10, align_steps=20, save_every=5)
    run_stage("critic", "hopper", "medium", cfg, allow_weak_critic=True)
    if stage == "qalign":
        run_stage("dt", "hopper", "medium", cfg, allow_weak_critic=True)
    straight = run_stage(stage, "hopper", "medium", cfg, resume=False, allow_weak_critic=True)
    w_straight = load_model(straight.checkpoint)[0].state_dict()
    with pytest.raises(Interrupt):
        run_stage(stage, "hopper", "medium", cfg, progress=interrupt_at(23), resume=False, allow_weak_critic=True)
    state = json.loads((Run("hopper", "medium").stage_dir(stage) / "state.json").read_text())
    assert state["step"] == 20
    resumed = run_stage(stage, "hopper", "medium", cfg, allow_weak_critic=True)
    assert resumed.step == 30
    for k, v in load_model(resumed.checkpoint)[0].state_dict().items():
        torch.testing.assert_close(v, w_straight[k], rtol=0, atol=0)


def test_corrupt_and_mismatched_checkpoints_fail_clearly(tiny_dataset, tiny_cfg):
    run_stage("dt", "hopper", "medium", replace(tiny_cfg, pretrain_steps=2, align_steps=0))
    path = Run("hopper", "medium").model_path("dt")
    meta_path, weights = path.with_suffix(".json"), path.with_suffix(".safetensors")
    good_meta, good_weights = meta_path.read_text(), weights.read_bytes()

    weights.write_bytes(good_weights[: len(good_weights) // 2])
    with pytest.raises(CheckpointError, match="corrupt checkpoint weights"):
        load_model(path)
    weights.write_bytes(good_weights)

    meta_path.write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt checkpoint metadata"):
        load_model(path)

    meta = json.loads(good_meta)
    meta["dt_config"]["embed_dim"] = 32
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="do not match the stored config"):
        load_model(path)

    meta = json.loads(good_meta)
    meta["format"] = "something-else"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="is not a qalign-dt-model-v1"):
        load_model(path)

    meta_path.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load_model(path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (["--cfg.batch-size", "0"], r"--cfg.batch-size must be >= 1 \(got 0\)"),
        (["--cfg.lr", "-1"], r"--cfg.lr must be > 0"),
        (["--cfg.gamma", "nan"], r"--cfg.gamma must be in \(0, 1\]"),
        (["--cfg.dt.embed-dim", "10", "--cfg.dt.n-heads", "3"], r"--cfg.dt.n-heads must be a divisor"),
        (["--cfg.critic-expectile", "1", "--cfg.threads", "0"], r"expectile must be in \(0, 1\) .*; --cfg.threads"),
    ],
)
def test_train_refuses_a_config_out_of_range_naming_the_option(roots, override, message):
    """Refused before any data or run folder is touched (no dataset exists here), for every stage."""
    from core.train import main as train_main

    for stage in ("critic", "dt", "qalign"):
        with pytest.raises(ValueError, match=message):
            train_main(["--config", "tiny", "--stage", stage, *override])


def test_every_preset_is_in_range():
    from core.training.config import PRESETS

    assert {name: cfg.problems() for name, cfg in PRESETS.items()} == {name: [] for name in PRESETS}


def test_train_cli_all_stages(tiny_dataset, roots, capsys):
    """The CLI parses presets and overrides in-process for the first two stages; the last runs as a real
    subprocess (the entry point as a user calls it)."""
    from core.train import main as train_main

    args = [
        "--task",
        "Hopper",
        "--dataset",
        "medium",
        "--config",
        "tiny",
        "--cfg.align-steps",
        "4",
        "--allow-weak-critic",
    ]
    for stage in ("critic", "dt"):
        summary = train_main([*args, "--stage", stage])
        assert summary["stage"] == stage and summary["step"] == (20 if stage == "critic" else 24)
    out = run_cli("core.train", *args, "--stage", "qalign")
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["stage"] == "qalign" and summary["step"] == 24 and "losses/align" in summary["metrics"]
    assert summary["checkpoint"].endswith("hopper/medium/qalign/model")


def test_a_mixture_head_trains_every_stage_ships_and_acts_compiled(tiny_dataset, tiny_cfg):
    """``--cfg.dt.action-head mixture`` end to end: BC by likelihood (its loss can go below 0), Q-ALIGN on the
    mode's action, the checkpoint rebuilds the mixture head, and the traced policy acts as the eager one."""
    from core.policy import ReturnConditionedPolicy

    cfg = replace(tiny_cfg, dt=replace(tiny_cfg.dt, action_head="mixture", n_modes=3))
    for stage in ("critic", "dt", "qalign"):
        res = run_stage(stage, "hopper", "medium", cfg, allow_weak_critic=True)
    assert np.isfinite(res.metrics["losses/bc"]) and "losses/align" in res.metrics
    actor, meta = load_model(res.checkpoint)
    assert meta["dt_config"]["action_head"] == "mixture" and actor.action_head.out_features == 3 * (2 * 3 + 1)
    eager, traced = ReturnConditionedPolicy.load(res.checkpoint), ReturnConditionedPolicy.load(res.checkpoint).compile()
    for p in (eager, traced):
        p.reset(obs_batch(2), np.array([0.2, 0.9]) * eager.return_range[1])
    for t in range(8):
        obs = obs_batch(2, seed=t)
        a, b = eager.act(obs), traced.act(obs)
        np.testing.assert_allclose(a, b, atol=1e-5)
        assert np.all(np.abs(a) < 1)
        for p in (eager, traced):
            p.observe(np.ones(2))


def test_bf16_autocast_trains_fp32_weights_and_really_runs(tiny_dataset, tiny_cfg):
    """``--cfg.bf16`` (README: 2.08x the DT step on a CPU with native bf16): the actor's forward runs under bf16
    autocast, so the same steps from the same seed end near fp32's weights but not on them, and the weights, their
    EMA and the optimiser's state stay float32 (what is saved and loaded)."""
    from core.data.dataset import load_offline_data
    from core.data.windows import FlatData, WindowSampler
    from core.training.updates import ActorState, dt_update

    data = load_offline_data("hopper", "medium")
    flat = FlatData(data, 1000.0, torch.device("cpu"))
    got = {}
    for bf16 in (False, True):
        torch.manual_seed(0)
        st = ActorState(replace(tiny_cfg, bf16=bf16, lr=3e-3), data.obs_dim, data.act_dim)
        sampler = WindowSampler(flat, tiny_cfg.dt.context_len, torch.Generator().manual_seed(0))
        losses = [float(dt_update(st, sampler, step)["losses/bc"]) for step in range(40)]
        assert np.isfinite(losses).all() and np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
        tensors = [*st.actor.parameters(), *st.ema.parameters()]
        tensors += [t for s in st.opt.state.values() for t in s.values() if t.is_floating_point()]
        assert {t.dtype for t in tensors} == {torch.float32}
        got[bf16] = torch.cat([p.detach().flatten() for p in st.actor.parameters()])
    gap = (got[True] - got[False]).abs().max().item()
    assert 0.0 < gap < 0.05, gap  # autocast ran (not fp32's numbers), and trained the same network


def test_bf16_autocast_covers_the_critics(tiny_dataset, tiny_cfg):
    """``--cfg.bf16`` runs the critics' forwards under bf16 autocast too, in SARSA pre-training and in the Q-ALIGN
    step: the same steps from the same seed move the critic near fp32's weights but not onto them; weights, targets
    and optimiser state stay float32, and every loss stays finite."""
    from core.data.dataset import load_offline_data
    from core.data.windows import FlatData, TransitionSampler, WindowSampler
    from core.training.updates import ActorState, CriticState, QAlign, critic_update

    data = load_offline_data("hopper", "medium")
    flat = FlatData(data, 1000.0, torch.device("cpu"))
    got = {}
    for bf16 in (False, True):
        torch.manual_seed(0)
        cfg = replace(tiny_cfg, bf16=bf16, critic_lr=1e-3)
        cs = CriticState(cfg, data.obs_dim, data.act_dim)
        transitions = TransitionSampler(flat, torch.Generator().manual_seed(0))
        losses = [float(critic_update(cs, transitions, cfg)["losses/critic"]) for _ in range(30)]
        got[bf16] = torch.cat([p.detach().flatten() for p in cs.critic.parameters()])
        qa = QAlign(ActorState(cfg, data.obs_dim, data.act_dim), cs, cfg, "hopper", 1200.0, 1000.0)
        windows = WindowSampler(flat, cfg.dt.context_len, torch.Generator().manual_seed(0))
        logged = [qa.update(windows, 100) for _ in range(5)]
        assert np.isfinite(losses).all() and np.mean(losses[-5:]) < np.mean(losses[:5])
        assert all(np.isfinite(float(m[k])) for m in logged for k in ("losses/critic", "losses/align", "losses/bc"))
        tensors = [*cs.critic.parameters(), *cs.target.parameters()]
        tensors += [t for s in cs.opt.state.values() for t in s.values() if t.is_floating_point()]
        assert {t.dtype for t in tensors} == {torch.float32}
    gap = (got[True] - got[False]).abs().max().item()
    assert 0.0 < gap < 0.05, gap  # after the SARSA steps alone: autocast reached the critic's own forwards


def test_native_bf16_reads_the_cpu_flags(tmp_path):
    from core.training.precision import native_bf16

    cpu = torch.device("cpu")
    for flags, want in (("fpu avx512f avx512_bf16 avx512_vnni", True), ("fpu amx_bf16 amx_tile", True),
                        ("fpu avx512f avx512bw avx512_vnni", False), ("fpu xavx512_bf16x", False)):  # fmt: skip
        (tmp_path / "cpuinfo").write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        assert native_bf16(cpu, tmp_path / "cpuinfo") is want, flags
    assert native_bf16(cpu, tmp_path / "absent") is False


def test_a_stage_trains_bf16_only_where_native_and_resumes_in_its_saved_precision(tiny_dataset, tiny_cfg, monkeypatch):
    """The precision rule (``core.training.precision``): asked-for bf16 falls back to fp32, with a warning, on a device
    without native bf16; a stage's state records the precision it ran in, and a resumed stage keeps it whatever the
    command asks, with a warning; the critic's JSON and the model's record what ran."""
    import core.training.precision as precision
    from core.store.checkpoint import state_meta

    run = Run("hopper", "medium", 0)
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    with pytest.warns(UserWarning, match="no native bf16"):
        run_stage("critic", "hopper", "medium", replace(tiny_cfg, bf16=True))
    assert state_meta(run.stage_dir("critic"))["bf16"] is False
    assert json.loads(run.critic_path.with_suffix(".json").read_text())["bf16"] is False

    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    run_stage("dt", "hopper", "medium", replace(tiny_cfg, bf16=True, align_steps=0))
    assert state_meta(run.stage_dir("dt"))["bf16"] is True
    with pytest.warns(UserWarning, match="trained with bf16 autocast: it continues so"):
        run_stage("dt", "hopper", "medium", replace(tiny_cfg, bf16=False))  # resumed at step 20 for 10 more
    assert state_meta(run.stage_dir("dt"))["bf16"] is True
    meta = json.loads(run.model_path("dt").with_suffix(".json").read_text())
    assert meta["step"] == 30 and meta["train_config"]["bf16"] is True
