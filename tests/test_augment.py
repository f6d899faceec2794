import numpy as np
import pytest

from lstm_lessons import augment


def batch(n=6, steps=24, features=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, steps, features))


def test_every_augmentation_keeps_shape_and_leaves_its_input_alone():
    x = batch()
    before = x.copy()
    for name in augment.AUGMENTATIONS:
        out = augment.augmentation(name, 0.2)(x, np.random.default_rng(1))
        assert out.shape == x.shape
        assert not np.allclose(out, x), name
    np.testing.assert_array_equal(x, before)


def test_jitter_adds_noise_of_the_requested_size():
    x = np.zeros((200, 24, 1))
    noise = augment.jitter(x, 0.1, np.random.default_rng(0))
    assert noise.std() == pytest.approx(0.1, rel=0.05)


def test_magnitude_scale_multiplies_each_series_and_feature_by_one_factor():
    x = batch() + 5.0
    out = augment.magnitude_scale(x, 0.2, np.random.default_rng(0))
    ratio = out / x
    np.testing.assert_allclose(ratio, ratio[:, :1, :].repeat(x.shape[1], axis=1))
    assert ratio[:, 0, :].std() > 0.05


def test_time_warp_keeps_the_ends_and_moves_the_middle():
    steps = np.arange(24, dtype=float)
    x = np.stack([steps, steps ** 2], axis=-1)[None].repeat(4, axis=0)
    out = augment.time_warp(x, 0.3, np.random.default_rng(0))
    np.testing.assert_allclose(out[:, 0], x[:, 0])
    np.testing.assert_allclose(out[:, -1], x[:, -1])
    assert np.all(np.diff(out[:, :, 0], axis=1) > 0)  # a rising series stays rising: time never runs back
    assert np.abs(out - x).max() > 0.5


def test_zero_strength_changes_nothing():
    x = batch()
    for name in augment.AUGMENTATIONS:
        np.testing.assert_allclose(augment.augmentation(name, 0.0)(x, np.random.default_rng(0)), x)


def test_none_means_no_augmentation():
    assert augment.augmentation("none", 0.5) is None


@pytest.mark.parametrize("call, message", [
    (lambda: augment.augmentation("rotate", 0.1), "name='rotate'"),
    (lambda: augment.augmentation("jitter", 1.5), "sigma=1.5"),
    (lambda: augment.jitter(np.zeros((3, 4)), 0.1, np.random.default_rng(0)), "shape (3, 4)"),
    (lambda: augment.time_warp(batch(), 0.1, np.random.default_rng(0), knots=0), "knots=0"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
