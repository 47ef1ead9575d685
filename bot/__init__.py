"""Acasă: a multilingual information and mediation bot for migrants and refugees in Timișoara."""

__version__ = "0.1.0"
