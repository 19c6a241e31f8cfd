"""One module per ``pmd`` command; each exposes ``register(subparsers)``."""
