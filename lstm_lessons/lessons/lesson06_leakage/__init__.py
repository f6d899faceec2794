"""Lesson 06 · Leakage: a validation score too good to be true."""
