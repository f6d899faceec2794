"""Lesson 07's own tests: the pipelines and their accuracy by length, and the padding-value exercise."""

import numpy as np
import pytest

from lstm_lessons import data, padding, sequences, training

VOWELS = data.load_japanese_vowels()
PREPARED = {name: padding.prepare(name) for name in padding.PIPELINES}


def test_all_training_utterances_train_and_the_test_split_is_halved_by_speaker():
    train, val, test = padding.split_indices()
    np.testing.assert_array_equal(train, np.flatnonzero(VOWELS.split == "train"))
    assert set(val) | set(test) == set(np.flatnonzero(VOWELS.split == "test")) and not set(val) & set(test)
    assert len(val) == len(test) == 185
    # stratified: each speaker's utterances split in half, to within one
    assert np.abs(np.bincount(VOWELS.labels[val]) - np.bincount(VOWELS.labels[test])).max() <= 1
    np.testing.assert_array_equal(padding.split_indices()[1], val)


@pytest.mark.parametrize("name", list(padding.PIPELINES))
def test_every_pipeline_keeps_the_speakers_and_lengths_and_pads_to_one_length(name):
    p = PREPARED[name]
    _, val, test = padding.split_indices()
    np.testing.assert_array_equal(p.y_val, VOWELS.labels[val] - 1)
    np.testing.assert_array_equal(p.lengths_test, VOWELS.lengths[test])
    assert p.x_train.shape[1:] == p.x_test.shape[1:] == (padding.PADDED_LENGTH, 12)
    assert p.padding_steps == padding.PADDED_LENGTH * len(p.x_train) - p.lengths_train.sum()
    assert (p.mask_value is not None) == name.endswith("masked")


def test_the_real_frames_are_standardised_with_the_training_statistics_and_sit_on_their_side():
    post, pre = PREPARED["post, masked"], PREPARED["pre, no mask"]
    real = np.concatenate(sequences.real_steps(post.x_train, post.lengths_train))
    np.testing.assert_allclose(real.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(real.std(axis=0), 1, atol=1e-4)
    shortest = int(np.argmin(post.lengths_train))
    n = post.lengths_train[shortest]
    np.testing.assert_array_equal(post.x_train[shortest, :n], pre.x_train[shortest, -n:])
    assert not post.x_train[shortest, n:].any() and not pre.x_train[shortest, :-n].any()
    assert post.masked_steps == post.padding_steps and pre.masked_steps == 0


def test_the_normalisation_mistakes_shift_the_statistics_and_scaling_after_padding_unmasks():
    right, wrong = PREPARED["post, masked"], PREPARED["padded-array statistics, masked"]
    assert np.all(np.abs(wrong.mean) < np.abs(right.mean)) and np.all(wrong.std < right.std)
    assert wrong.masked_steps == wrong.padding_steps
    scaled = PREPARED["scaled after padding, masked"]
    np.testing.assert_allclose(scaled.mean, wrong.mean, rtol=1e-6)   # the same statistics...
    assert scaled.masked_steps == 0                                   # ...but the padding moved
    np.testing.assert_allclose(scaled.x_train[0, -1], -scaled.mean / scaled.std, rtol=1e-5)
    with pytest.raises(ValueError, match="pipeline='masked'"):
        padding.prepare("masked")
    with pytest.raises(ValueError, match="padded_length=20"):
        padding.prepare("post, masked", padded_length=20)


def test_extend_adds_padding_frames_on_the_side_asked():
    x = np.ones((2, 3, 2))
    assert padding.extend(x, 2, "post", value=-1.0)[:, 3:].tolist() == [[[-1, -1]] * 2] * 2
    assert padding.extend(x, 1, "pre")[:, 0].tolist() == [[0, 0]] * 2
    with pytest.raises(ValueError, match="side='middle'"):
        padding.extend(x, 1, "middle")
    with pytest.raises(ValueError, match="steps=0"):
        padding.extend(x, 0, "post")


def test_a_masked_model_ignores_padding_and_an_unmasked_post_padded_one_does_not():
    from lstm_lessons import models

    x = padding.prepare("post, masked", padded_length=29).x_val[:16]
    training.seed_everything(1)
    masked = models.build_speaker_classifier(12, 9, 8, mask_value=0.0)
    training.seed_everything(1)
    plain = models.build_speaker_classifier(12, 9, 8)
    assert padding.output_change(masked, x, 10, "post") < 1e-6
    assert padding.output_change(plain, x, 10, "post") > 1e-3
    with pytest.raises(ValueError, match="mask_value=nan"):
        models.build_speaker_classifier(12, 9, mask_value=float("nan"))


def test_results_report_accuracy_by_length_and_the_most_common_prediction():
    result = padding.Result("x", predicted=np.array([0, 0, 0, 1]), truth=np.array([0, 1, 0, 1]),
                            lengths=np.array([7, 12, 20, 29]), padding_steps=10, masked_steps=5)
    assert result.accuracy == 0.75 and result.majority_share == 0.75
    assert result.by_length().to_dict() == {"7-12": 0.5, "13-17": pytest.approx(np.nan, nan_ok=True),
                                            "18-29": 1.0}
    row = padding.table([result]).loc["x"]
    assert row["padding masked"] == 0.5 and row["7-12 frames"] == 0.5


@pytest.mark.slow
def test_training_in_the_workers_with_curves_gives_the_numbers_of_training_here_without():
    quick = padding.Settings(units=4, epochs=1)
    there = padding.train_many([dict(prepared=PREPARED["post, no mask"], seed=2, settings=quick,
                                     curves=False),
                                dict(prepared=PREPARED["post, masked"], seed=2, settings=quick)], jobs=2)
    here = padding.train(PREPARED["post, masked"], 2, quick, curves=False)
    assert [r.label for r in there] == ["post, no mask", "post, masked"]
    # The exercise checks train without validation curves, the lesson with them: same model.
    np.testing.assert_array_equal(there[1].predicted, here.predicted)
    assert there[1].test_accuracy == here.test_accuracy
    assert there[1].history["loss"].tolist() == here.history["loss"].tolist()
    assert set(there[1].history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert set(there[0].history) == {"loss", "accuracy"}


def test_a_pipeline_at_another_length_carries_its_own_label():
    default = padding.prepare("post, no mask", padded_length=29, label="post, no mask, 29 frames")
    assert default.label == "post, no mask, 29 frames" and default.x_train.shape[1] == 29
    assert padding.prepare("post, no mask", padded_length=29).label == "post, no mask"
    # 29 frames leave far less padding than the lesson's 60.
    assert default.padding_steps < padding.prepare("post, no mask").padding_steps / 3


def test_the_padding_value_must_lie_outside_the_standardised_data_and_the_count_be_measured():
    from lstm_lessons.grading.registry import EXERCISES

    value = EXERCISES["07-padding-value"]
    judged = value.verify({"value": -10.0, "masked_steps": 15605}, 1)
    assert judged.passed and judged.hint == "" and judged.measurements["padding_steps"] == 15605
    assert f"({judged.measurements['lowest_real']:.2f} to " in judged.message   # shown once outside
    assert judged.measurements["lowest_real"] < -3 and judged.measurements["highest_real"] > 3
    assert judged.margin > 1       # -10 lies more than the lowest real value's size below it
    judged = value.verify({"value": 0.0, "masked_steps": 15605}, 1)
    assert not judged.passed and judged.measurements["masked_steps"] == 15605
    assert judged.hint.startswith("that value lies inside") and judged.margin < -0.5
    low, high = (f"{judged.measurements[k]:.2f}" for k in ("lowest_real", "highest_real"))
    assert low not in judged.message and high not in judged.message   # the range is not given away
    judged = value.verify({"value": 50.0, "masked_steps": 22726}, 1)   # the training array's count
    assert not judged.passed and judged.hint.startswith("count the padding steps")
    assert "15605" not in judged.message


def test_the_exercises_name_every_pipeline():
    from lstm_lessons import padding
    from lstm_lessons.lessons.lesson07_padding_and_masking import exercises

    assert exercises.PIPELINE_NAMES == tuple(padding.PIPELINES)
