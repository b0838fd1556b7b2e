"""Data files (word lists) used by :mod:`handlers.language`; shipped as package data."""
