"""Fugatto Audio Lab: the instrumented text-to-audio service that stackgen's default stack monitors."""

__version__ = "0.1.0"
