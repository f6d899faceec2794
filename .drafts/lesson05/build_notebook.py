import nbformat
from nbformat.v4 import new_notebook, new_markdown_cell as md, new_code_cell as code

def c(src, tags=()):
    cell = code(src.strip("\n")); cell.metadata["tags"] = list(tags); return cell
def m(src):
    cell = md(src.strip("\n")); cell.metadata["tags"] = []; return cell

cells = [
m("""
# Lesson 05 · The generalisation gap: great on the training days, worse on new ones

**What you will see.** An LSTM that tells winter days from summer days by the shape of Italy's
hourly electricity demand. Trained on 46 days, it becomes certain about every one of them: its
training loss falls towards zero. On 21 days it never trained on, the loss reaches its best
after a few dozen epochs and then climbs back to about twice that. A model too small for the
task fails the other way: both losses stay high.

**What you will do.** Measure the climb with Prechelt's generalisation loss
(`ll.curves.generalisation_loss`), tell overfitting from underfitting by the curves alone, try
six fixes against the same baseline in one table, check with stratified cross-validation how
far one small validation split can be trusted, and read what the training doctor reports.

Run the cells from top to bottom, or headlessly: `lstm-lessons run 05 -p seed 2`.
"""),
c("""
# Parameters (papermill replaces this cell's values when it runs the lesson headlessly)
learning_rate = 5e-3   # Adam's constant step size
epochs = 70            # passes over the training days, one full batch each
seed = 1               # seeds weights, dropout masks and augmentation
units = 64             # hidden units of the deliberately too large LSTM
folds = 3              # folds of the stratified cross-validation
""", ["parameters"]),
c("""
import numpy as np
import pandas as pd

import lstm_lessons as ll

# Stop here, before any training, if a parameter is out of range.
params = ll.params.validate_parameters(learning_rate=learning_rate, epochs=epochs, seed=seed,
                                       units=units, folds=folds)
print(params)
task = ll.data.italy_power_task()
print(f"training days {task.x_train.shape}, validation days {task.x_val.shape}, "
      f"test days {task.x_test.shape}")
"""),
m("""
## The data

UCR's ItalyPowerDemand (see `data/README.md`): one example is one day of 1997, 24 hourly values
of Italy's electricity demand, z-normalised per day by the archive, so only the *shape* of the
day is left. The question: is the day in April to September (1) or October to March (0)? The
archive gives 67 days for training and 1029 for testing.

`ll.data.italy_power_task()` holds out 21 of the 67 training days for validation, stratified so
both parts have the same share of each class, and keeps the 1029 test days apart. Every
decision below (which epoch, which fix) is made on the validation days. The test days are
measured once per model, at the end, and never used to choose anything: a score that guided a
choice has been fitted a little, and after enough choices it flatters. (The source article's
third example passes the test set as `validation_data` to `EarlyStopping`: its test score then
picked the epoch and is no longer a test.)
"""),
m("""
## The symptom: a model that memorises

64 hidden units make about 17,000 weights for 46 days of 24 values each. The recipe below is
trained for 70 epochs of one full batch at a constant learning rate; `ll.generalisation.train`
builds the model (`ll.models.build_lstm_classifier`), trains it, and measures it on the
validation and test days.
"""),
c("""
baseline = ll.generalisation.Recipe(units=units, learning_rate=learning_rate, epochs=epochs)
too_large = ll.generalisation.train(baseline, task, seed, label=f"{units} units")
history = too_large.history

gl = ll.curves.generalisation_loss(history["val_loss"])
gap = ll.curves.generalisation_gap(history["loss"], history["val_loss"])
best = too_large.best_epoch
print(f"best validation loss {too_large.best_val_loss:.3f} at epoch {best}; at the end "
      f"{history['val_loss'][-1]:.3f}, GL = {gl[-1]:.0f} %")
print(f"gap (validation - training loss): {gap[best - 1]:.3f} at the best epoch, {gap[-1]:.3f} at the end")
print(f"accuracy at the end: training {history['accuracy'][-1]:.2f}, validation "
      f"{history['val_accuracy'][-1]:.2f} (at the best epoch {history['val_accuracy'][best - 1]:.2f})")
ll.plots.plot_generalisation({too_large.label: history});
"""),
m("""
The training loss keeps falling; the validation loss stops falling at the dot and climbs back
up: the U that gives overfitting away. Prechelt's generalisation loss
$GL(t) = 100\\,(E_{va}(t)/\\min_{t' \\le t} E_{va}(t') - 1)$ turns the climb into one number per
epoch: 0 at every new best, and here far above 10 % at the end. The gap between the two losses
grows with it.

The accuracies tell a quieter story: the validation accuracy hardly moves while its loss doubles.

## Why it happens

With far more weights than examples, the model can give each training day its own answer. Once
every training day is right, the only way left to lower the training loss is to become more
*certain*: push every probability towards 0 or 1. On the validation days it gets right, more
certainty gains little; on the one or two it gets wrong, a confident mistake costs a lot
($-\\log p$ of a probability near 0). So the validation loss climbs while the validation accuracy
stays put: here overfitting first ruins the probabilities, which matters as soon as anyone uses
them (a threshold, a risk, a ranking). With more training, or a harder task, it ruins the
answers too.

## Six fixes and one model too small, each against the same baseline

Each recipe changes one thing in the baseline and is trained with the same seed and measured
the same way: the best validation loss and its epoch, the loss of the model `train` returns
(the last epoch's, or the best epoch's when early stopping restored it), the gap at the end,
and the test days' loss and accuracy.

- **Dropout**: `dropout` drops a fraction of the LSTM's inputs at every step; `recurrent_dropout`
  drops a fraction of its recurrent state, with the same mask at every step of a sequence (Gal
  and Ghahramani, 2016). Only during training.
- **L2 on the kernels** (`kernel_regularizer`, `recurrent_regularizer`): adds
  $\\lambda \\sum w^2$ to the loss, so its pull on each weight goes through the gradient.
- **Decoupled weight decay** (`keras.optimizers.AdamW`): shrinks every weight by
  `learning_rate × weight_decay` of itself at each step, outside the gradient. With plain SGD
  the two are the same thing; with Adam they are not, because Adam divides each gradient by its
  running scale, so an L2 pull is strong on weights with small gradients and weak on the rest
  (Loshchilov and Hutter, ICLR 2019).
- **A smaller model**: 8 units instead of 64.
- **Early stopping**: `EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)`.
- **Data augmentation**: a time warp (`ll.augment.time_warp`, strength 0.2) stretches and
  squeezes each training day smoothly, drawn afresh for every batch of every epoch
  (`ll.training.batches(..., augment=...)`); validation and test days are never augmented.
"""),
c("""
recommended = baseline.but(augmentation="time_warp", augmentation_sigma=0.2, patience=20)
recipes = {
    "2 units (too small)": baseline.but(units=2),
    "dropout 0.3 + recurrent 0.3": baseline.but(dropout=0.3, recurrent_dropout=0.3),
    "L2 1e-3 on the kernels": baseline.but(l2=1e-3),
    "AdamW, weight decay 1.0": baseline.but(weight_decay=1.0),
    "8 units": baseline.but(units=8),
    "early stopping, patience 10": baseline.but(patience=10),
    "time warp 0.2": baseline.but(augmentation="time_warp", augmentation_sigma=0.2),
    "recommended: time warp + early stopping 20": recommended,
}
# The recipes are independent: they train two at a time, one per core.
runs = dict(zip(recipes, ll.generalisation.train_many(
    [(recipe, task, seed, label) for label, recipe in recipes.items()])))
comparison = ll.generalisation.table([too_large, *runs.values()])
print(comparison.round(3).to_string())
too_small, recommended_run = runs["2 units (too small)"], runs["recommended: time warp + early stopping 20"]
"""),
m("""
## Underfitting, for contrast

The 2-unit model fails the other way:
"""),
c("""
ll.plots.plot_histories({too_large.label: history, "2 units": too_small.history},
                        title="Overfitting (64 units) and underfitting (2 units)");
"""),
m("""
How to tell the two apart from the curves alone:

- **Overfitting**: the training loss ends far below the validation loss and is still falling;
  the validation loss has a minimum and climbs after it (GL grows). More data, regularisation
  or stopping earlier help; more capacity makes it worse.
- **Underfitting**: both losses stay high and close together, the validation loss is flat or
  still falling at the end. More capacity, more epochs or a better learning rate help;
  regularisation makes it worse.
"""),
m("""
RECIPE_PROSE
"""),
m("""
## The combination to recommend

COMBO_PROSE
"""),
c("""
ll.plots.plot_generalisation({too_large.label: history, "time warp + early stopping": recommended_run.history});
"""),
m("""
## How sure are we? Cross-validation

21 validation days are few: two or three hard days more or less in them change the loss a lot,
so one split can flatter a recipe or sink it. Stratified k-fold cross-validation
(scikit-learn's `StratifiedKFold`, inside `ll.generalisation.cross_validate`) puts all 67
training days in turn into `folds` held-out parts of equal class balance, trains a fresh model
on the rest each time, and measures the held-out part after the last epoch. The spread across
folds says how much one split can be trusted.

Shuffling the days into folds is right here: each day is a separate example. For windows cut
from one series it is not: neighbouring windows share most of their values, so a shuffled fold
tests the model on near-copies of its training data and on the past it was meant to forecast
(lesson 06).
"""),
c("""
cross = ll.generalisation.cross_validate({"baseline": baseline, "recommended": recommended}, task,
                                         folds=folds, seed=seed)
per_fold = cross.pivot(index="fold", columns="recipe", values="held-out loss")
print(per_fold.round(3).to_string())
print(per_fold.agg(["mean", "std", "min", "max"]).round(3).to_string())
"""),
m("""
CV_PROSE
"""),
m("""
## The source article's code, corrected

- `LSTM(units, input_shape=(100, 1), ...)` inside `Sequential` is the Keras 2 idiom. Keras 3
  wants the input declared first: `keras.Input(shape=(n_steps, n_features))`, then the layers
  (see `ll.models.build_lstm_classifier`).
- Its early-stopping example fits with `train_labels` and `test_labels`, which it never defines,
  and validates on the test set (see *The data*): hold out a validation part of the training
  data, and keep the test set for the end.
- The companion article's first example reshapes 100 values to `(100, 1, 1)`: 100 sequences of
  one step, so the LSTM has no time to remember anything. A sequence model needs inputs of shape
  `(n_sequences, n_steps, n_features)` with more than one step, here `(46, 24, 1)`.
"""),
m("""
## What the training doctor says

`ll.doctor.diagnose` reads the same histories. Its `overfitting` rule (see
`ll.doctor.rules.overfitting`) smooths both curves with a running median of 5 epochs, then asks
for GL of at least 10 % in each of the last 3 epochs, a training loss that did not rise since
the best epoch, and a rise after the best epoch that noise alone would not explain (a
Mann-Kendall trend test, `ll.curves.rising_trend`).
"""),
c("""
diagnosis_large = ll.doctor.diagnose(too_large.history)
diagnosis_small = ll.doctor.diagnose(too_small.history)
diagnosis_recommended = ll.doctor.diagnose(recommended_run.history)
print("64 units:   ", diagnosis_large)
print("2 units:    ", diagnosis_small.names or "healthy")
print("recommended:", diagnosis_recommended.names or "healthy")
overfitting_from = next(s.epoch for s in diagnosis_large.symptoms if s.name == "overfitting") \\
    if "overfitting" in diagnosis_large else None
"""),
m("""
DOCTOR_PROSE
"""),
m("""
## Verifying the diagnosis and the fixes

Each claim below is checked on seeds beyond the ones shown (`benchmarks/claims_margin.py`).
"""),
]
nb = new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
nb.metadata["language_info"] = {"name": "python"}
nb.metadata["lstm_lessons"] = {"lesson": "05_generalisation_gap"}
nbformat.write(nb, "/tmp/exp/05_draft.ipynb")

claims = [
c('''
# NBVAL_CHECK_OUTPUT
ll.claims.claim("symptom_reproduced",
                "the 64-unit model memorises: its validation loss ends at least 50 % above its best "
                "(GL) while its training loss ends below a fifth of its validation loss",
                ll.claims.at_least("GL at the last epoch, %", gl[-1], 50),
                ll.claims.below("training / validation loss at the last epoch",
                                history["loss"][-1] / history["val_loss"][-1], 0.2))
'''),
c('''
# NBVAL_CHECK_OUTPUT
ll.claims.claim("underfitting_looks_different",
                "the 2-unit model underfits: its training loss stays high, its best validation loss is "
                "at least twice the 64-unit model's, and its gap at the end is smaller",
                ll.claims.at_least("2 units: training loss at the last epoch", too_small.history["loss"][-1], 0.3),
                ll.claims.at_least("best validation loss, 2 units / 64 units",
                                   too_small.best_val_loss / too_large.best_val_loss, 2),
                ll.claims.below("gap at the end, 2 units", too_small.final_gap, too_large.final_gap))
'''),
c('''
# NBVAL_CHECK_OUTPUT
ll.claims.claim("fix_verified",
                "the recommended recipe ends with a lower validation loss and a lower test loss than "
                "the 64-unit baseline",
                ll.claims.below("validation loss at the end, recommended", recommended_run.val_loss,
                                too_large.val_loss),
                ll.claims.below("test loss, recommended", recommended_run.test_loss, too_large.test_loss))
'''),
c('''
# NBVAL_CHECK_OUTPUT
early = runs["early stopping, patience 10"]
ll.claims.claim("early_stopping_keeps_the_best",
                "early stopping returns the baseline's best epoch (same validation loss) and a lower "
                "test loss than the last epoch",
                ll.claims.at_most("validation loss returned / baseline's best",
                                  early.val_loss / too_large.best_val_loss, 1.001),
                ll.claims.below("test loss, early stopping", early.test_loss, too_large.test_loss))
'''),
c('''
# NBVAL_CHECK_OUTPUT
ll.claims.claim("dropout_lowers_validation_loss",
                "dropout on the inputs and the recurrent state ends with a lower validation loss than "
                "the baseline",
                ll.claims.below("validation loss at the end, dropout",
                                runs["dropout 0.3 + recurrent 0.3"].val_loss, too_large.val_loss))
'''),
c('''
# NBVAL_CHECK_OUTPUT
warp = runs["time warp 0.2"]
ll.claims.claim("augmentation_helps",
                "time-warping the training days afresh each epoch lowers both the validation and the "
                "test loss",
                ll.claims.below("validation loss at the end, time warp", warp.val_loss, too_large.val_loss),
                ll.claims.below("test loss, time warp", warp.test_loss, too_large.test_loss))
'''),
c('''
# NBVAL_CHECK_OUTPUT
ll.claims.claim("l2_does_not_help_here",
                "L2 1e-3 on the kernels does not lower the validation loss at the end",
                ll.claims.at_least("validation loss at the end, L2 / baseline",
                                   runs["L2 1e-3 on the kernels"].val_loss / too_large.val_loss, 1.0))
'''),
c('''
# NBVAL_CHECK_OUTPUT
ll.claims.claim("doctor_agrees",
                "the training doctor reports overfitting for the 64-unit model, from an epoch after its "
                "best, and not for the 2-unit model",
                ll.claims.is_true("64 units: overfitting found", overfitting_from is not None),
                ll.claims.above("64 units: first overfitting epoch - best epoch",
                                (overfitting_from or 0) - too_large.best_epoch, 0),
                ll.claims.is_true("2 units: no overfitting", "overfitting" not in diagnosis_small))
'''),
m("""
## What to remember

- Overfitting: the training loss keeps falling while the validation loss turns up. Measure the
  turn (Prechelt's GL, the gap) instead of eyeballing it, and look at the loss, not only the
  accuracy: confidence goes first.
- Underfitting looks different: both losses high and close. The cures are opposite.
- Change one thing at a time against the same baseline, and check the result on more than one
  seed and more than one split: with 21 validation days a single number can mislead.
- Keep the test set out of every decision, early stopping included.
"""),
m("""
## Your turn (4 points)

Each exercise asks for an answer (numbers), and `ll.grading.check` trains this lesson's model with it, measures the result and gives the points with a hint. Change the cell marked *your answer*, then run the check below it. Each check trains for about 10 seconds.

**Exercise 1 (2 points).** Choose one dropout fraction (used for both `dropout` and `recurrent_dropout`) and an L2 factor for the 64-unit model (default settings, seed 1) so that its validation loss at the end is at most 0.20 and its gap (validation minus training loss) at the end at most 0.05.
"""),
c('''
# your answer: the dropout fraction and the L2 factor
answer_dropout = None
answer_l2 = None
''', ["exercise"]),
c('''
ll.grading.check("05-regularise", dropout=answer_dropout, l2=answer_l2)
'''),
m("""
**Exercise 2 (2 points).** With `EarlyStopping(monitor="val_loss", restore_best_weights=True)`, choose the smallest-looking `patience` you trust so that training stops before epoch 70 and still keeps the epoch with the lowest validation loss of the full 70-epoch run (default settings, seed 1); report that epoch. Read it off the baseline's history: its validation loss dips more than once.
"""),
c('''
# your answer: the patience (epochs), and the epoch of the lowest validation loss
answer_patience = None
answer_best_epoch = None
''', ["exercise"]),
c('''
ll.grading.check("05-patience", patience=answer_patience, best_epoch=answer_best_epoch)
'''),
]
nb.cells.extend(claims)
nbformat.write(nb, "/tmp/exp/05_draft.ipynb")
