"""Lesson 08's exercises: a clipping norm that keeps the IRNN finite, and a stack of sigmoid layers
whose first layer still receives its share of the gradient."""

from __future__ import annotations

from lstm_lessons.claims import at_least, at_most, below, is_true
from lstm_lessons.grading.exercise import Exercise, Judgement, first_hint
from lstm_lessons.params import Choice, Rule

SEED = 3
"""The seed both tasks name; the lesson prints seed 1's runs, so neither answer can be read off it.
Every check trains with the lesson's default settings and the seed it is given: ``Exercise.seed``
(this one) when grading, others in ``benchmarks/exercise_margins.py``.

Exercise 1: the lesson's sweep prints seed 1's clipped IRNN (norm 1: 0.686, norm 4: 0.729); on seed
3 norm 1 ends at 0.733 with oneDNN on and 0.787 off, norm 4 at 0.616 and 0.624, so neither printed
row is within the tolerance. The IRNN is chaotic at small norms: norm 1 moved by up to 0.054 with
oneDNN (seeds 2-5), norm 2.5 by 0.029 (seed 3) and 0.019 (seed 5). At norms 3, 3.5, 5, 7 and 10 the
losses of seeds 3-5 were the same to four digits with oneDNN on and off and on one or two threads;
norm 4 moved by 0.0085 (seed 3: 0.6158 and 0.6243).

Exercise 2 asks for a stack deeper than the lesson's, which neither the lesson nor a run of it with
another seed prints: on seed 3, 7 and 8 layers give 3.70 and 3.99 with layer normalisation, 0.390
and 0.500 with residual connections, none within the tolerance of the lesson's printed seed-1 rows
(layer norm 6.3, residual 0.57). The sigmoid stacks' ratios were the same to four digits with
oneDNN on and off (seeds 1 and 2)."""

MIN_CLIPNORM = 3.0
"""Exercise 1: the smallest norm allowed. Below it this IRNN is chaotic: on seed 3, norm 1 ended at
0.733 with oneDNN on and 0.787 with it off, norm 2.5 at 0.645 and 0.616 (twice the tolerance), so a
student's check and the grader's could disagree on another CPU; norm 2 moved by 0.005 (0.712 and
0.716), a quarter of the tolerance. At the norms measured from 3 up the moves stayed below the
tolerance (see above: none at 3, 3.5, 5, 7 and 10, 0.0085 at 4). It also keeps the lesson's best
printed row (norm 1) out."""

MIN_DEPTH = 7
"""Exercise 2: the fewest layers allowed, one more than the lesson's deepest stack."""

VAL_LOSS_TARGET = 0.8
"""Exercise 1: the validation loss (training variances) the clipped IRNN must end below; 1 is about
the error of forecasting the training mean. On seed 1, norms of 0.4, 1, 4, 10 and 100 end at 0.91,
0.69, 0.73, 0.86 and 0.91; 1e5 clips nothing and the loss is nan in epoch 1."""

VAL_LOSS_TOLERANCE = 0.015
"""Exercise 1: a reported validation loss may differ by this much from the grader's: more than the
largest move measured at the allowed norms, 0.0085 (norm 4, seed 3; norms 4, 10 and 100 moved by
at most that on seeds 2-5), a quarter of the 0.063 between norm 3's loss on seed 3 (0.6295) and
the lesson's printed Keras-defaults loss (0.693)."""

RATIO_TARGET = 0.1
"""Exercise 2: the first recurrent layer's gradient norm must be at least this share of the last's."""

LOSS_DROP_TARGET = 0.1
"""Exercise 2: the training loss must fall by at least this share from the first epoch to the last."""

RATIO_TOLERANCE = 0.1
"""Exercise 2: a reported ratio may differ by this share of the grader's."""

BETWEEN = ("nothing", "residual", "layer_norm")
"""``ll.gradient_flow.BETWEEN`` (``tests/test_grading.py`` checks they match), written out so that
importing the exercises does not import pandas with ``ll.gradient_flow``."""


def _verify_clipnorm(answer: dict, seed: int) -> Judgement:
    from lstm_lessons import gradient_flow

    recipe = gradient_flow.RECIPES["IRNN, SGD"].replace(global_clipnorm=answer["clipnorm"])
    result = gradient_flow.train("IRNN, SGD", seed, recipe)
    finite = result.finite and result.epochs_run == recipe.epochs
    checks = (is_true("every epoch's loss finite", finite),
              below("validation loss", result.val_loss, VAL_LOSS_TARGET))
    reports = (at_most("|reported - measured validation loss|", abs(answer["val_loss"] - result.val_loss),
                       VAL_LOSS_TOLERANCE),)
    reached, close = finite and checks[1].holds, finite and reports[0].holds
    measured = {"finite": finite, "epochs_run": result.epochs_run,
                "val_loss": round(result.val_loss, 4) if finite else None}
    # The measured loss is shown only once it is reported right: the feedback gives no answer away.
    said = (f"{result.val_loss:.4f}, as you said" if close else
            f"you said {answer['val_loss']:g}, not within {VAL_LOSS_TOLERANCE} of the measured loss")
    below_target = "below" if checks[1].holds else "not below"
    outcome = (f"the validation loss is {below_target} {VAL_LOSS_TARGET} ({said})" if finite else
               f"the loss turned non-finite in epoch {result.epochs_run}")
    message = f"IRNN clipped at {answer['clipnorm']:g}, seed {seed}: {outcome}"
    hint = first_hint((finite, "the steps are still large enough to blow the ReLU state up: choose a norm "
                               "nearer the gradient norms of the healthy Keras-defaults run."),
                      (reached, "it stays finite but learns too little in 8 epochs: a norm far above the "
                                "healthy run's gradient norms lets bursts through."),
                      (close, "train it with ll.gradient_flow.train and read Result.val_loss."))
    return Judgement(checks, message, hint, measured, reports)


def _verify_depth(answer: dict, seed: int) -> Judgement:
    from lstm_lessons import gradient_flow

    recipe = gradient_flow.RECIPES["6 sigmoid layers"].replace(depth=answer["depth"],
                                                               between=answer["between"])
    result = gradient_flow.train("your stack", seed, recipe)
    ratio = float(gradient_flow.first_to_last(result.history)[-1])
    loss = result.history["loss"]
    drop = float(1 - loss[-1] / loss[0])
    checks = (at_least("first / last layer gradient norm", ratio, RATIO_TARGET),
              at_least("training loss drop", drop, LOSS_DROP_TARGET))
    reports = (at_most("|reported - measured gradient ratio|", abs(answer["ratio"] - ratio),
                       RATIO_TOLERANCE * ratio),)
    passes_gradient, learns = (c.holds for c in checks)
    close = reports[0].holds
    measured = {"ratio": round(ratio, 4), "loss_drop": round(drop, 3)}
    # The measured ratio is shown only once it is reported right: the feedback gives no answer away.
    said = (f"{ratio:.3g}, as you said" if close else
            f"you said {answer['ratio']:g}, not within {RATIO_TOLERANCE:.0%} of the measured ratio")
    message = (f"{answer['depth']} sigmoid layers, {answer['between']} between, seed {seed}: first / last "
               f"layer gradient norm {'at least' if passes_gradient else 'below'} {RATIO_TARGET} ({said}), "
               f"training loss fell by {drop:.0%} (needed: {LOSS_DROP_TARGET:.0%})")
    hint = first_hint((passes_gradient, "each sigmoid layer can shrink the gradient by 4: give the "
                                        "gradient a way around or through the layers."),
                      (learns, "the gradient arrives but the stack still learns too little in 6 epochs: "
                               "try what sits between the layers."),
                      (close, "read ll.gradient_flow.first_to_last(result.history)[-1]."))
    return Judgement(checks, message, hint, measured, reports)


EXERCISES = (
    Exercise(
        "08-clipnorm", "08_vanishing_exploding_gradients", 2,
        f"Choose a global_clipnorm of at least {MIN_CLIPNORM:g} for the lesson's IRNN (ReLU, identity "
        f"recurrent kernel, SGD with momentum; default settings) on seed {SEED} (the lesson prints seed "
        f"1's sweep) that keeps every epoch's loss finite and ends with a validation loss below "
        f"{VAL_LOSS_TARGET}, and report that validation loss to within {VAL_LOSS_TOLERANCE}.",
        {"clipnorm": Rule(float, MIN_CLIPNORM, 1e6, meaning="the optimiser's global_clipnorm"),
         "val_loss": Rule(float, 0.0, 1e6, meaning="validation loss after the last epoch")},
        _verify_clipnorm, seed=SEED),
    Exercise(
        "08-depth", "08_vanishing_exploding_gradients", 2,
        f"Choose a number of sigmoid layers deeper than the lesson's ({MIN_DEPTH} or 8) and what goes "
        f"between them so that, trained as the lesson's '6 sigmoid layers' recipe otherwise is, on seed "
        f"{SEED} (the lesson prints seed 1's), the first recurrent layer's gradient norm at the last epoch "
        f"is at least {RATIO_TARGET} of the last layer's and the training loss falls by at least "
        f"{LOSS_DROP_TARGET:.0%}; report the ratio to within {RATIO_TOLERANCE:.0%}.",
        {"depth": Rule(int, MIN_DEPTH, 8, meaning="stacked sigmoid layers, more than the lesson's 6"),
         "between": Choice(BETWEEN, meaning="what goes between the layers"),
         "ratio": Rule(float, 0.0, 1e6, meaning="first / last layer gradient norm, last epoch")},
        _verify_depth, seed=SEED),
)
