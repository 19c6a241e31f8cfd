"""Services: the rules of the participation process, one module per subject.

Every function takes its dependencies as keyword arguments (the session, the
consultation, the current time) and raises ``pmd_domain.errors`` exceptions.
They run inside the caller's transaction and never commit.
"""
