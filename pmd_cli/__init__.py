"""The ``pmd`` command line: loads settings and wires the pieces together."""
