"""Lesson 01 · The validation loss that will not settle: a learning rate that is too high."""
