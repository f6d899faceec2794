"""Padding, real-step statistics, mask collisions and length buckets (``ll.sequences``)."""

import numpy as np
import pytest

from lstm_lessons import data, sequences

NAN = np.nan


def toy():
    """Two series of 3 steps at most, 2 channels: lengths 3 and 1, padded with NaN."""
    x = np.array([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
                  [[7.0, 8.0], [NAN, NAN], [NAN, NAN]]])
    return x, np.array([3, 1])


def test_real_steps_drop_the_padding():
    x, lengths = toy()
    steps = sequences.real_steps(x, lengths)
    assert [s.shape for s in steps] == [(3, 2), (1, 2)]
    assert not np.isnan(np.concatenate(steps)).any()


def test_pad_puts_the_value_before_or_after_the_real_steps():
    x, lengths = toy()
    post = sequences.pad(x, lengths, 4, side="post", value=-9)
    pre = sequences.pad(x, lengths, 4, side="pre", value=-9)
    assert post.shape == pre.shape == (2, 4, 2) and post.dtype == np.float32
    np.testing.assert_array_equal(post[1], [[7, 8], [-9, -9], [-9, -9], [-9, -9]])
    np.testing.assert_array_equal(pre[1], [[-9, -9], [-9, -9], [-9, -9], [7, 8]])
    np.testing.assert_array_equal(pre[0, 1:], x[0])


@pytest.mark.parametrize(("arguments", "named"), [
    ({"length": 2}, "length=2"), ({"length": 4, "side": "after"}, "side='after'"),
    ({"length": 4, "value": np.nan}, "value=nan"), ({"length": 3.0}, "length=3.0")])
def test_bad_padding_is_named(arguments, named):
    x, lengths = toy()
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(".", r"\.")):
        sequences.pad(x, lengths, **arguments)


def test_malformed_lengths_are_named():
    x, _ = toy()
    with pytest.raises(ValueError, match="lengths must lie in 1..3"):
        sequences.real_steps(x, np.array([4, 1]))
    with pytest.raises(ValueError, match="2 integers"):
        sequences.real_steps(x, np.array([3.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        sequences.real_steps(x[0], np.array([3]))


def test_statistics_over_the_padded_array_are_pulled_towards_the_padding():
    x, lengths = toy()
    mean, std = sequences.channel_statistics(x, lengths)
    np.testing.assert_allclose(mean, [4, 5])
    np.testing.assert_allclose(std, np.std([1, 3, 5, 7]))
    padded_mean, _ = sequences.channel_statistics(x, lengths, over="padded array")
    np.testing.assert_allclose(padded_mean, [16 / 6, 20 / 6])   # two zeros among six values
    with pytest.raises(ValueError, match="over='everything'"):
        sequences.channel_statistics(x, lengths, over="everything")


def test_japanese_vowels_real_frames_never_collide_with_zero_after_standardising():
    vowels = data.load_japanese_vowels().subset("train")
    mean, std = sequences.channel_statistics(vowels.x, vowels.lengths)
    standardised = (vowels.x - mean) / std
    assert sequences.collisions(standardised, vowels.lengths, 0.0) == 0
    # A frame is masked only when every channel equals the value.
    x, lengths = toy()
    assert sequences.collisions(x, lengths, 7.0) == 0
    assert sequences.collisions(np.where(np.isnan(x), 0, 7.0), lengths, 7.0) == 4


def test_length_buckets_label_each_series_from_short_to_long():
    buckets = sequences.length_buckets([7, 12, 13, 17, 18, 29], edges=(13, 18))
    assert list(buckets.categories) == ["7-12", "13-17", "18-29"]
    assert list(buckets) == ["7-12", "7-12", "13-17", "13-17", "18-29", "18-29"]
    for edges in [(), (18, 13), (7,), (30,)]:
        with pytest.raises(ValueError, match="edges must be increasing"):
            sequences.length_buckets([7, 29], edges)


def test_bucket_means_give_each_length_bucket_its_mean_and_count():
    table = sequences.bucket_means([1, 0, 1, 1], [7, 8, 20, 29], (13, 18))
    assert table["count"].tolist() == [2, 0, 2]          # an empty bucket stays, with no mean
    assert table["mean"].iloc[0] == 0.5 and np.isnan(table["mean"].iloc[1]) and table["mean"].iloc[2] == 1.0
    assert list(table.index) == ["7-12", "13-17", "18-29"]
    with pytest.raises(ValueError, match="same shape"):
        sequences.bucket_means([1, 0], [7, 8, 9], (8,))
