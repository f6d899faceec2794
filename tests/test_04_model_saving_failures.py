"""Lesson 04's own tests: its exercises' pieces that need no training."""


def test_the_checkpoint_exercise_reads_the_file_after_each_epoch_from_its_writes():
    from lstm_lessons.lessons.lesson04_model_saving_failures.exercises import _file_after_each_epoch

    assert _file_after_each_epoch([1, 2, 5], 6) == [1, 2, 2, 2, 5, 5]
    assert _file_after_each_epoch([3], 4) == [None, None, 3, 3]
