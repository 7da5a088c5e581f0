"""Embedded default datasets."""
