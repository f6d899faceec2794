"""Lesson 08 · Vanishing and exploding gradients."""
