"""Why a file could not be used, in Spanish: one place for every command and loader."""

from __future__ import annotations

import errno

# The reasons an operator can act on; anything else falls back to the system's words.
_REASONS = {
    errno.ENOENT: "no existe",
    errno.EACCES: "no hay permiso",
    errno.EPERM: "no hay permiso",
    errno.ENOSPC: "el disco está lleno",
    errno.EISDIR: "es una carpeta",
    errno.ENOTDIR: "una parte de la ruta no es una carpeta",
    errno.EROFS: "el disco es de solo lectura",
    errno.ENAMETOOLONG: "el nombre es demasiado largo",
}

NOT_UTF8 = "no es texto UTF-8"


def file_reason(error: OSError | UnicodeError) -> str:
    """What went wrong with a file, in a few Spanish words (no errno, no path)."""
    if isinstance(error, UnicodeError):
        return NOT_UTF8
    return _REASONS.get(error.errno or 0, error.strerror or type(error).__name__)
