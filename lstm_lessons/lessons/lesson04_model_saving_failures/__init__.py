"""Lesson 04 · Model saving failures: why isn't my best model saved?"""
