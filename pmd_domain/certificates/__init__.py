"""Participation certificates: the printable PDF and the dates written on it."""
