"""Words shown in the dashboard, kept apart from the logic."""

TITLE = "Return-conditioned control: Q-ALIGN DT vs Decision Transformer"

INTRO = """
Ask a simulated robot for a **return** (the total reward of an episode: roughly, how far and how
well it moves in 1000 steps) or for a **speed**, and watch how closely it delivers.

A *Decision Transformer* (DT) is trained to imitate a dataset, conditioned on the **return-to-go
(RTG)**: the reward still to be collected. At run time you choose the RTG, and after each step the
reward just earned is subtracted. A plain DT often ignores the request above what the data shows;
**Q-ALIGN DT** adds a critic so that asking for more yields higher-valued actions. Both models here
were trained by us on the same data, with the same network and budget.

**What to look for:** on the *Alignment* tab, a controllable policy follows the dotted diagonal
inside the shaded data range; in a live episode, the coloured line should end near the dotted target. The
*Status* tab says, for every model here, whether it does (and which bar it misses when it does not).
"""

RETURN_HELP = (
    "Requested return for the whole episode. The shaded band on the Alignment tab is the "
    "range of returns in the training data; the slider goes to twice its best episode."
)
ASK_HELP = (
    "Return-to-go: the slider is the RTG the model is told. Outcome: the slider is the return you want, and each "
    "model is told the RTG its measured sweep says reaches it (greyed out below when it never reached that much)."
)
DATASET_HELP = (
    "What the models learned from. ladder-pure (Hopper's default): one policy's gait per return level from random "
    "to expert, a quarter of it the expert's, so asked for the top the hopper keeps going. control: behaviour from "
    "random to expert, even in return (the default elsewhere). pace "
    "(HalfCheetah, the speed tab's default): one policy running at commanded speeds; its pair follows a target speed "
    "best (README). medium, medium-replay: the paper's kind of data."
)
HOLD_HELP = (
    "Ticked: every second each model is asked for the target plus a correction that sums up how far its measured "
    "speed fell short (never above the data's fastest speed). Ticked by default on HalfCheetah pace, where the shown "
    "Q-ALIGN DT, held, misses stepped and gliding targets inside its data's speeds by 0.19-0.28 m/s and its DT by "
    '0.38-0.56 (README, "Holding a speed"). On `control` it helps Q-ALIGN DT a little and makes the DT worse: asked '
    "to slow down, a model trained on data that reaches slow speeds by stumbling can flip onto its back."
)
VELOCITY_HELP = (
    "Target forward speed in m/s. The request is turned into an RTG "
    "(reward per step at that speed x steps left); move the slider while the episode runs "
    "and the RTG is re-anchored. Measured (README, HalfCheetah, 1 s averages): the `control` pair misses a changing "
    "target by 0.6-1 m/s; the `pace` pair (trained on a policy running at commanded speeds) by about 0.3 m/s "
    "(Q-ALIGN DT; 0.19-0.28 held) and 0.4-0.5 m/s (DT) within its data's speeds (up to about 4.6 m/s); both run too "
    "fast when asked to go slow. Hopper and Walker2d run their own pace (about 3 m/s) whatever speed is asked."
)
ALIGNMENT_HELP = (
    "Achieved vs requested return, mean and standard deviation over evaluation episodes. "
    "The precomputed curves ship with the checkpoints; the button below reruns a smaller sweep live."
)
NO_MODELS = (
    "No trained checkpoints were found under `checkpoints/`. Train them with `python -m core.train ...` (see README)."
)
PACE_HELP = "Real time plays the episode as fast as the robot lives it; 2x and 4x play it faster."
VIEW_LABEL = "Live view (drawn by your browser; side by side: left Decision Transformer, right Q-ALIGN DT)"
VIDEO_LABEL = "Episode video (MP4 rendered by MuJoCo after the episode, requested and achieved numbers overlaid)"
