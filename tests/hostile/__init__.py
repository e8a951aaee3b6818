"""Hostile input: a corpus of bad articles, fuzzing, and the API under attack."""
