"""Data augmentation for series: new training examples that keep their label.

Each function takes a batch ``x`` of shape ``(n_series, n_steps, n_features)`` and a NumPy
``Generator`` and returns a new array of the same shape; the input is never modified. They are
meant for *training batches only*, drawn afresh every epoch (``ll.training.batches(...,
augment=...)``): validation and test data stay as measured, or the scores would describe
data that does not exist.

The three transformations and their parameterisation (a normal factor with standard deviation
``sigma`` around 1, a smooth random warp through a few knots) follow T. T. Um et al., "Data
augmentation of wearable sensor data for Parkinson's disease monitoring using convolutional
neural networks", ICMI 2017, section 3; B. K. Iwana and S. Uchida, "An empirical survey of data
augmentation for time series classification with neural networks", PLOS ONE 2021, compare them
on the UCR archive (ItalyPowerDemand among them) and find that none helps on every data set.

Why not a library: ``tsaug`` implements these, but its last release is from 2020; each
transformation here is a few lines of NumPy that a reader can check.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstm_lessons.params import Rule, require

AUGMENTATIONS = ("jitter", "magnitude_scale", "time_warp")
"""The names accepted by :func:`augmentation`."""


def _batch(x) -> np.ndarray:
    array = np.asarray(x, dtype=float)
    if array.ndim != 3:
        raise ValueError(f"x must have shape (n_series, n_steps, n_features). Received shape {array.shape}.")
    return array


def _check_sigma(sigma) -> float:
    return require("sigma", sigma, Rule(float, 0.0, 1.0, meaning="standard deviation of the random noise, "
                                                          "scale factor or speed"))


def jitter(x, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add independent Gaussian noise to every value: ``x + N(0, sigma^2)``.

    Args:
        x: ``(n_series, n_steps, n_features)``, in the units the model sees (here z-scores, so
            ``sigma`` is a fraction of a standard deviation).
        sigma: standard deviation of the noise, in [0, 1].
        rng: the random generator (seeded by the caller for repeatable runs).

    Raises:
        ValueError: ``x`` is not 3-D or ``sigma`` is outside [0, 1].
    """
    x, sigma = _batch(x), _check_sigma(sigma)
    return x + rng.normal(0.0, sigma, x.shape)


def magnitude_scale(x, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Multiply each series (each feature separately) by one random factor ``N(1, sigma^2)``.

    The shape of the series is kept; only its amplitude changes.

    Args, Raises: as :func:`jitter`.
    """
    x, sigma = _batch(x), _check_sigma(sigma)
    return x * rng.normal(1.0, sigma, (x.shape[0], 1, x.shape[2]))


def time_warp(x, sigma: float, rng: np.random.Generator, knots: int = 4) -> np.ndarray:
    """Speed up and slow down time smoothly: resample each series along a random monotone path.

    For each series, a speed is drawn at ``knots + 2`` evenly spaced steps (normal around 1
    with standard deviation ``sigma``, floored at 0.1 so time never stops or runs backwards),
    interpolated linearly to every step and summed into a warped clock that starts at the first
    step and ends at the last. The series is read off that clock by linear interpolation, so
    the first and last values stay in place and events in between move by a few steps.

    Args:
        x, sigma, rng: as :func:`jitter`.
        knots: interior points of the speed curve (>= 1); more knots, more wiggly warps.

    Raises:
        ValueError: as :func:`jitter`; ``knots`` is not an integer >= 1; fewer than 2 steps.
    """
    x, sigma = _batch(x), _check_sigma(sigma)
    knots = require("knots", knots, Rule(int, 1, meaning="points of the random warp"))
    n_series, n_steps, n_features = x.shape
    if n_steps < 2:
        raise ValueError(f"time_warp needs series of 2 or more steps. Received shape {x.shape}.")
    steps = np.arange(n_steps, dtype=float)
    knot_steps = np.linspace(0, n_steps - 1, knots + 2)
    out = np.empty_like(x)
    for i in range(n_series):
        speed = np.interp(steps, knot_steps, np.maximum(rng.normal(1.0, sigma, knots + 2), 0.1))
        clock = np.concatenate([[0.0], np.cumsum(speed[1:])])
        clock *= (n_steps - 1) / clock[-1]
        for f in range(n_features):
            out[i, :, f] = np.interp(clock, steps, x[i, :, f])
    return out


def augmentation(name: str, sigma: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """The augmentation ``name`` with strength ``sigma``, as ``f(x, rng) -> x_new``.

    Args:
        name: one of :data:`AUGMENTATIONS`, or ``"none"`` (returns ``None``: no augmentation).
        sigma: the strength, in [0, 1] (see each function).

    Raises:
        ValueError: unknown ``name`` or ``sigma`` outside [0, 1], before anything trains.
    """
    functions = {"jitter": jitter, "magnitude_scale": magnitude_scale, "time_warp": time_warp}
    if name == "none":
        return None
    if name not in functions:
        raise ValueError(f"name must be one of {('none', *AUGMENTATIONS)}. Received: name={name!r}")
    sigma = _check_sigma(sigma)
    transform = functions[name]

    def augment(x, rng):
        return transform(x, sigma, rng)

    augment.__name__ = f"{name}(sigma={sigma:g})"
    return augment
