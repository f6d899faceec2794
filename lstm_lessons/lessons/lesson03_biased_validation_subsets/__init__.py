"""Lesson 03 · A good average hiding a bad subset."""
