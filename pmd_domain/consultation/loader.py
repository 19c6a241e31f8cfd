"""Load and validate a consultation definition, reporting every error with its line."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from pmd_domain.consultation.locate import find_line, line_index
from pmd_domain.consultation.schema import Consultation, Text
from pmd_domain.consultation.toml_errors import spanish_toml_error
from pmd_domain.file_errors import file_reason
from pmd_domain.validation import spanish

DEFAULT_NAME = "pachuca-2023.toml"


@dataclass(frozen=True)
class Problem:
    """One error in a consultation file."""

    file: str
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{place}: {self.where}: {self.message}" if self.where else f"{place}: {self.message}"
        )


class ConsultationError(Exception):
    """A consultation file is not valid; ``problems`` lists every error."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def parse_consultation(text: str, *, name: str = "<consulta>") -> Consultation:
    """Validate the TOML ``text`` of a consultation; raise ConsultationError on errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(match.group(1)) if match else None
        if line is None and str(exc).endswith("(at end of document)"):
            line = text.count("\n") + 1
        detail = re.sub(r"\s*\(at (line|end of document).*\)$", "", str(exc))
        problem = f"sintaxis TOML: {spanish_toml_error(detail)}"
        raise ConsultationError([Problem(name, line, "", problem)]) from exc
    try:
        return Consultation.model_validate(data)
    except ValidationError as exc:
        index = line_index(text)
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
            message = spanish(error)
            where = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc).replace(
                ".[", "["
            )
            problems.append(Problem(name, find_line(index, loc), where, message))
        raise ConsultationError(_dedupe(problems)) from exc


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and part in ("str", "dict[str,str]")


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[int | None, str, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.line, problem.where, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return sorted(unique, key=lambda p: (p.line or 0, p.where))


def load_consultation(path: Path | None = None) -> Consultation:
    """Load ``path`` or, when None, the default consultation shipped with the package.

    A consultation loaded from a file follows the file's ``[sources]``: see
    ``Consultation.reload_sources`` (the rest of the file is read only at start).
    """
    if path is None:
        text = resources.files("pmd_domain.consultation").joinpath(DEFAULT_NAME).read_text("utf-8")
        return parse_consultation(text, name=DEFAULT_NAME)
    try:
        text = Path(path).read_text("utf-8")
        stamp = _stamp(Path(path))
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"no se puede leer: {file_reason(exc)}"
        raise ConsultationError([Problem(str(path), None, "", problem)]) from exc
    consultation = parse_consultation(text, name=str(path))
    consultation.attach_coat_of_arms(_coat_of_arms(consultation, Path(path)))
    consultation.follow_sources(_SourcesFile(Path(path), stamp))
    return consultation


# The coat of arms is drawn on the certificate (reportlab) and served to the pages.
COAT_OF_ARMS_MAX_BYTES = 2 * 1024 * 1024
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def _coat_of_arms(consultation: Consultation, path: Path) -> bytes | None:
    """The image ``[office] coat_of_arms`` names, relative to the consultation file."""
    named = consultation.office.coat_of_arms.strip()
    if not named:
        return None
    image = Path(named) if Path(named).is_absolute() else path.parent / named
    where = "office.coat_of_arms"
    try:
        with image.open("rb") as handle:
            data = handle.read(COAT_OF_ARMS_MAX_BYTES + 1)
    except OSError as exc:
        problem = f"no se puede leer el escudo {str(image)!r}: {file_reason(exc)}"
        raise ConsultationError([Problem(str(path), None, where, problem)]) from exc
    if len(data) > COAT_OF_ARMS_MAX_BYTES:
        problem = "el escudo pesa más de 2 MB; usa una imagen más ligera"
        raise ConsultationError([Problem(str(path), None, where, problem)])
    if not data.startswith(_IMAGE_MAGIC):
        problem = "el escudo debe ser una imagen PNG o JPEG"
        raise ConsultationError([Problem(str(path), None, where, problem)])
    return data


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


class _SourcesFile:
    """Reads a consultation file's ``[sources]`` again when the file changed.

    A file that does not validate as a whole is ignored (the sources in force stay).
    """

    def __init__(self, path: Path, stamp: tuple[int, int]):
        self.path = path
        self.stamp = stamp

    def __call__(self) -> dict[str, Text] | None:
        try:
            stamp = _stamp(self.path)
            if stamp == self.stamp:
                return None
            self.stamp = stamp
            return parse_consultation(self.path.read_text("utf-8"), name=str(self.path)).sources
        except (OSError, UnicodeDecodeError, ConsultationError):
            return None
