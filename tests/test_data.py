import numpy as np
import pytest

from core.data.dataset import load_offline_data, returns_to_go, trajectory_from_arrays
from core.data.minari_io import dataset_id, resolve_id


def test_rtg_hand_computed():
    np.testing.assert_allclose(returns_to_go(np.array([1.0, 2.0, 3.0])), [6.0, 5.0, 3.0])


def test_trajectory_shapes_and_terminal_flag():
    obs = np.arange(8, dtype=float).reshape(4, 2)
    traj = trajectory_from_arrays(
        obs,
        np.zeros((3, 1)),
        np.array([1.0, 0.5, 2.0]),
        np.array([False, False, True]),
        np.array([False, False, False]),
    )
    assert traj.terminated and len(traj) == 3
    np.testing.assert_array_equal(traj.next_observations[0], obs[1])
    np.testing.assert_allclose(traj.returns_to_go, [3.5, 2.5, 2.0])


@pytest.mark.parametrize("n_obs,n_act", [(3, 3), (4, 2)])
def test_malformed_episode_is_rejected(n_obs, n_act):
    with pytest.raises(ValueError, match="malformed episode"):
        trajectory_from_arrays(np.zeros((n_obs, 2)), np.zeros((n_act, 1)), np.zeros(3), np.zeros(3), np.zeros(3))


def test_generated_dataset_round_trips(tiny_dataset):
    data = load_offline_data("hopper", "medium")
    assert data.dataset_id == "qalign/hopper/medium-v0"
    assert len(data.trajectories) == len(tiny_dataset)
    assert (data.obs_dim, data.act_dim) == (11, 3)
    for ep, traj in zip(tiny_dataset, data.trajectories):
        np.testing.assert_allclose(traj.returns_to_go[0], ep.rewards.sum(), rtol=1e-5)
        np.testing.assert_allclose(traj.observations, ep.observations[:-1], rtol=1e-6)
        assert traj.terminated == bool(ep.terminations[-1])
    ended = {t.terminated for t in data.trajectories}
    assert ended == {True, False}, "fixture should hold terminated and truncated episodes"
    all_obs = np.concatenate([ep.observations[:-1] for ep in tiny_dataset])
    np.testing.assert_allclose(data.obs_mean, all_obs.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(data.obs_std, all_obs.std(0), rtol=1e-3, atol=1e-5)
    rets = [ep.rewards.sum() for ep in tiny_dataset]
    s = data.return_stats
    assert s["min"] == pytest.approx(min(rets)) and s["max"] == pytest.approx(max(rets))
    assert s["min"] <= s["p25"] <= s["p50"] <= s["p75"] <= s["max"]
    assert s["transitions"] == sum(len(ep) for ep in tiny_dataset)


def test_missing_dataset_says_how_to_make_it(roots):
    with pytest.raises(FileNotFoundError, match="core.data.collect --task walker2d --quality expert"):
        load_offline_data("walker2d", "expert")


def test_unknown_quality_and_task():
    with pytest.raises(ValueError, match="valid qualities"):
        dataset_id("hopper", "random")
    with pytest.raises(ValueError, match="valid tasks"):
        load_offline_data("ant", "medium")


def test_full_minari_ids_pass_through():
    assert resolve_id("hopper", "mujoco/hopper/medium-v0") == "mujoco/hopper/medium-v0"
    assert resolve_id("hopper", "medium-replay") == "qalign/hopper/medium-replay-v0"


def test_recorded_episodes_start_from_the_reset_observation():
    """Each stored episode's first observation is the one its reset returned, and observation t + 1 is what
    stepping from t gave (a view into the batch buffer once turned obs[0] into the episode's last state)."""
    from core.behavior.episodes import run_episodes
    from core.envs import get_task

    task = get_task("hopper")
    rng = np.random.default_rng(0)
    _, eps = run_episodes(task, lambda o: rng.uniform(-1, 1, (len(o), 3)), [5, 6, 7], record=True, n_envs=2)
    env = task.make()
    for ep in eps:
        reset_obs, _ = env.reset(seed=ep.seed)
        np.testing.assert_array_equal(ep.observations[0], reset_obs)
        obs, *_ = env.step(ep.actions[0])
        np.testing.assert_allclose(ep.observations[1], obs, rtol=0, atol=1e-5)  # actions are stored as float32
    env.close()


def test_switch_episodes_learn_from_the_hand_over_only():
    """A source change at step 7 makes steps 0-6 context only: windows keep them visible (mask) but not as targets,
    and the behaviour-cloning loss ignores a wrong action there."""
    import torch

    from core.data.dataset import OfflineData
    from core.data.windows import FlatData, WindowSampler
    from core.training.losses import bc_loss

    rng = np.random.default_rng(0)
    T, sources = 12, np.array([3] * 7 + [5] * 5)
    end = np.eye(1, T, T - 1)[0]
    switched, plain = (
        trajectory_from_arrays(
            rng.normal(size=(T + 1, 2)), rng.uniform(-1, 1, (T, 1)), np.ones(T), np.zeros(T), end, src
        )
        for src in (sources, sources * 0)
    )
    assert (switched.learn_from, plain.learn_from) == (7, 0)
    data = OfflineData("hopper", "x", [switched, plain], np.zeros(2), np.ones(2), {"max": 12.0})
    w = WindowSampler(FlatData(data, 1.0), 4, torch.Generator().manual_seed(0), anchor="end").sample(256)
    steps = w.timesteps + 0
    first_traj = (w.states[:, -1:, :] == FlatData(data, 1.0).states[:T][None]).all(-1).any(-1)  # windows of `switched`
    expected = w.mask & ~(first_traj[:, None] & (steps < 7))
    assert torch.equal(w.targets, expected) and (~w.targets & w.mask).any()
    wrong = w.actions + 10.0 * (w.mask & ~w.targets)[..., None]
    assert torch.allclose(bc_loss(wrong, w.actions, w.targets), torch.tensor(0.0))


def test_length_share_says_how_much_of_the_return_spread_is_episode_length():
    from core.data.summary import length_share

    lengths = np.array([20, 150, 400, 1000])
    assert length_share(3.5 * lengths, lengths) == pytest.approx(1.0)
    assert length_share(np.array([100.0, 2000.0, 900.0, 4000.0]), np.full(4, 1000)) == 0.0
    rng = np.random.default_rng(0)
    mixed = length_share(3.5 * lengths + rng.normal(0, 1500, 4), lengths)
    assert 0.0 < mixed < 1.0


def test_collect_refuses_sizes_out_of_range_naming_the_option(roots):
    from core.data.collect import CollectConfig
    from core.data.collect import main as collect_main

    with pytest.raises(ValueError, match=r"--size must be >= 0 .*\(got -5\); --n-envs must be >= 1 \(got 0\)"):
        collect_main(CollectConfig(size=-5, n_envs=0))
    with pytest.raises(ValueError, match=r"--noise-scale must be >= 0"):
        collect_main(CollectConfig(noise_scale=-1.0))
    with pytest.raises(ValueError, match=r"--top-share must be 0 unless --quality is even or ladder-pure"):
        collect_main(CollectConfig(quality="control", top_share=0.5))
    with pytest.raises(ValueError, match=r"--top-share must be in \[0, 1\)"):
        collect_main(CollectConfig(quality="even", top_share=1.0))
    with pytest.raises(ValueError, match=r"--open-bins must be off unless --quality is ladder-pure"):
        collect_main(CollectConfig(quality="even", open_bins=True))


def test_even_keeps_episodes_by_their_own_return_until_each_bin_is_full():
    """core.data.even: bins filled to their share (at most one episode over), nothing kept in a full bin, the same
    seeds give the same episodes, and the first batch of each source alone is the start of the full collection."""
    from core.data import even
    from core.data.control import UniformActor
    from core.envs import get_task

    task = get_task("hopper")
    actors = [UniformActor(3), UniformActor(3)]
    edges = np.array([0.0, 8.0, 16.0, 1000.0])  # random hopper episodes: returns of about 3-40
    args = (task, actors, [7_000, 8_000], 600, edges, 1.0, 4)
    kept, filled = even.sample_episodes(*args)
    room = 600 // 3
    longest = max(len(ep) for ep in kept)
    for b in range(3):
        in_bin = [ep for ep in kept if even.bin_of(ep.ret, edges) == b]
        assert filled[b] == sum(len(ep) for ep in in_bin) and room <= filled[b] < room + longest
        assert sum(len(ep) for ep in in_bin[:-1]) < room  # the last one kept in a bin is the one that filled it
    again, _ = even.sample_episodes(*args)
    assert [(ep.ret, len(ep)) for ep in again] == [(ep.ret, len(ep)) for ep in kept]
    start, _ = even.sample_episodes(*args, batches=1)
    assert 0 < len(start) < len(kept) and [ep.ret for ep in start] == [ep.ret for ep in kept[: len(start)]]


SOURCE_RETURNS = {"random": 0.0, "s1": 10.0, "s2": 95.0, "s3": 12.0, "s4": 100.0, "s5": 55.0, "s6": 90.0}
"""Measured mean returns of a made-up task's sources, in training order (the ladder tests' stand-in)."""


def test_ladder_keeps_the_best_source_of_each_control_bin(monkeypatch):
    """core.data.control: ``plan`` shares a bin among all its sources, ``ladder`` gives it to the best one alone
    (equal shares per rung, training order kept, empty bins skipped, the top rung the best source)."""
    from core.data import control

    monkeypatch.setattr(control, "source_returns", lambda task: SOURCE_RETURNS)
    # 4 bins of width 25: [0, 25) random s1 s3; [25, 50) empty; [50, 75) s5; [75, 100] s2 s4 s6
    plan = [(str(p), n) for p, n in control.plan("hopper", 900, bins=4)]
    assert plan == [("None", 100), ("s1", 100), ("s2", 100), ("s3", 100), ("s4", 100), ("s5", 300), ("s6", 100)]
    rungs = [(str(p), n) for p, n in control.ladder("hopper", 900, bins=4)]
    assert rungs == [("s3", 300), ("s4", 300), ("s5", 300)]


def test_ladder_pure_bins_keep_only_their_owners_episodes(monkeypatch):
    """control.owners: each bin owned by the rung whose mean lies in it (an empty bin by the nearest rung);
    even.sample_episodes with owners keeps a bin's episodes from its owner alone."""
    from core.data import control, even
    from core.envs import get_task

    monkeypatch.setattr(control, "source_returns", lambda task: SOURCE_RETURNS)
    # rungs in ladder order s3, s4, s5: s3 owns bin 0, s5 bin 2, s4 bin 3; bin 1 [25, 50) (centre 37.5) no rung's
    # mean lies in: the nearest, s5 (55)
    assert control.owners("hopper", bins=4) == [0, 2, 2, 1]

    task = get_task("hopper")
    actors = [control.UniformActor(3), control.UniformActor(3)]
    edges = np.array([0.0, 8.0, 16.0, 1000.0])  # random hopper episodes: returns of about 3-40
    args = (task, actors, [7_000, 8_000], 600, edges, 1.0, 4)
    with pytest.raises(ValueError, match="one source per bin"):
        even.sample_episodes(*args, owners=[0, 1])
    kept, filled = even.sample_episodes(*args, owners=[1, 0, 1], batches=6)
    played0 = {(ep.ret, len(ep)) for batch in even._stream(task, actors[0], 7_000, 1.0, 4, 6) for ep in batch}
    assert kept and filled.sum() == sum(len(ep) for ep in kept)
    for ep in kept:  # source 0's episodes (its own stream) in bin 1 only, source 1's in bins 0 and 2 only
        assert ((ep.ret, len(ep)) in played0) == (even.bin_of(ep.ret, edges) == 1)
    assert {even.bin_of(ep.ret, edges) for ep in kept} == {0, 1, 2}


def test_open_bins_hand_a_retired_owners_bin_to_every_source(monkeypatch):
    """even.sample_episodes with ``open_bins``: once a bin's owner retires (it never reaches that bin), the bin takes
    the other sources' episodes; without it the bin stays empty. Streams of fixed returns stand in for rollouts."""
    from core.behavior.episodes import Episode
    from core.data import even

    def stream(task, returns, seed, noise_scale, n_envs, batches):  # episodes of 10 steps cycling ``returns``
        k = 0
        while batches is None or k < batches * n_envs:
            batch = []
            for _ in range(n_envs):
                ret = returns[k % len(returns)]
                batch.append(Episode(np.zeros((11, 2)), np.zeros((10, 1)), np.full(10, ret / 10), np.zeros(10, bool),
                                     np.zeros(10, bool), seed + k))  # fmt: skip
                k += 1
            yield batch

    monkeypatch.setattr(even, "_stream", stream)
    edges = np.array([0.0, 10.0, 20.0, 100.0])
    low, top = [5.0, 12.0], [30.0]  # source 0 reaches bins 0 and 1, source 1 bin 2 only
    args = (None, [low, top], [0, 1_000], 300, edges, 1.0, 4)  # room: 100 transitions (10 episodes) a bin
    owners = [0, 1, 1]  # bin 1's owner never reaches it
    closed, filled_closed = even.sample_episodes(*args, owners=owners)
    opened, filled_opened = even.sample_episodes(*args, owners=owners, open_bins=True)
    assert filled_closed.tolist() == [100, 0, 100] and filled_opened.tolist() == [100, 100, 100]
    assert all(ep.seed >= 1_000 for ep in opened if ep.ret == 30.0)  # the top bin stays its owner's
    assert [ep.seed for ep in opened[: len(closed)]] == [ep.seed for ep in closed]  # the same until the owner left


def test_each_quality_has_its_own_collection_seeds():
    """core.data.collect seeds a quality's streams from its index in steps of SEED_STRIDE // 10: an eleventh
    quality would start on the next collection seed's streams."""
    from core.data.collect import SEED_STRIDE, CollectConfig, sources
    from core.data.minari_io import QUALITIES

    assert len(QUALITIES) <= 10, "QUALITIES outgrew the seed layout: widen core.data.collect's SEED_STRIDE split"
    firsts = [sources(CollectConfig(size=1000), q)[0][2] for q in ("medium", "ladder-pure")]
    assert firsts == [SEED_STRIDE, SEED_STRIDE + 9 * SEED_STRIDE // 10]


def test_top_share_gives_the_top_bin_its_share():
    """core.data.even with ``top_share``: the top bin's room is that share of the size, the rest split equally."""
    from core.data import control, even
    from core.envs import get_task

    task = get_task("hopper")
    actors = [control.UniformActor(3), control.UniformActor(3)]
    edges = np.array([0.0, 8.0, 16.0, 1000.0])
    _, filled = even.sample_episodes(task, actors, [7_000, 8_000], 600, edges, 1.0, 4, top_share=0.5)
    longest = 60  # random hopper episodes last well under 60 steps
    assert 300 <= filled[2] < 300 + longest and all(150 <= f < 150 + longest for f in filled[:2])
