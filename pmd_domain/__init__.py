"""Participa PMD: the participation process, independent of any channel."""
