"""The consultation definition: one TOML file describes an exercise."""

from pmd_domain.consultation.loader import ConsultationError, load_consultation, parse_consultation
from pmd_domain.consultation.schema import Consultation, Pillar, Question, Topic

__all__ = [
    "Consultation",
    "ConsultationError",
    "Pillar",
    "Question",
    "Topic",
    "load_consultation",
    "parse_consultation",
]
