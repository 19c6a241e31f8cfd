"""Open data that follows Mexico's open-data guide: data dictionaries and DCAT metadata.

Each open data file has a dictionary (one row per column: name, description, data
type), built from the file's own column list so that the two cannot drift apart,
and the catalogue (``/datos/catalogo.json``) describes every dataset in DCAT as the
Project Open Data v1.1 schema writes it (the one datos.gob.mx harvests): identifier,
title, description, modified, contactPoint, landingPage, accrualPeriodicity, and
per distribution its downloadURL and mediaType. The web side supplies the URLs
(from its route table) and the modification dates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pmd_domain.consultation import Consultation
from pmd_domain.i18n import Catalogs
from pmd_domain.services import open_data, ranking, results

LICENCE = "Términos de Libre Uso MX"
LICENCE_URL = "https://datos.gob.mx/libreusomx"
DICTIONARY_COLUMNS = ("variable", "descripcion", "tipo_de_dato")
MEDIA = {"csv": "text/csv", "json": "application/json", "pdf": "application/pdf"}

_INTEGERS = {"apoyos", *(name for name, _ in ranking.FILE_COLUMNS), "vistas", *results.COLUMNS[4:]}
_TYPES = {"fecha": "date", "valor": "count"}


@dataclass(frozen=True)
class Dataset:
    """An open dataset: its files' name, columns and formats."""

    name: str
    columns: tuple[str, ...]
    formats: tuple[str, ...]


DATASETS = (
    Dataset("propuestas", open_data.PROPOSAL_COLUMNS, ("csv", "json")),
    Dataset("participacion", open_data.PARTICIPATION_COLUMNS, ("csv", "json")),
    Dataset("resultados", results.COLUMNS, ("csv", "json", "pdf")),
)


def dataset(name: str) -> Dataset | None:
    """The dataset called ``name``, if any."""
    return next((d for d in DATASETS if d.name == name), None)


def dictionary(catalogs: Catalogs, item: Dataset, *, language: str = "es") -> list[list[str]]:
    """The dictionary rows of a dataset's files (``DICTIONARY_COLUMNS``), in column order."""
    rows = []
    for column in item.columns:
        kind = _TYPES.get(column, "integer" if column in _INTEGERS else "text")
        rows.append(
            [
                column,
                catalogs.text(language, f"opendata.{item.name}.{column}"),
                catalogs.text(language, f"opendata.type.{kind}"),
            ]
        )
    return rows


def citation(catalogs: Catalogs, consultation: Consultation, *, language: str = "es") -> str:
    """How to cite the data under Libre Uso MX."""
    return catalogs.text(
        language,
        "opendata.citation",
        municipality=consultation.exercise.municipality,
        title=consultation.text(consultation.exercise.title, language),
    )


def catalogue(
    catalogs: Catalogs,
    consultation: Consultation,
    *,
    landing_page: str,
    contact_url: str,
    file_url: Callable[[str, str], str],
    dictionary_url: Callable[[str], str],
    modified: dict[str, str],
    language: str = "es",
) -> dict[str, Any]:
    """The DCAT catalogue (Project Open Data v1.1 JSON) of every dataset.

    ``file_url(name, fmt)`` and ``dictionary_url(name)`` give absolute URLs;
    ``modified`` the ISO 8601 date-time of each dataset's last change.
    """
    exercise = consultation.exercise
    period = f"R/PT{max(1, consultation.limits.publication_interval_minutes)}M"
    publisher = {"@type": "org:Organization", "name": exercise.authority}
    contact = {
        "@type": "vcard:Contact",
        "fn": consultation.privacy.controller or exercise.authority,
        "hasURL": contact_url,
    }
    cite = citation(catalogs, consultation, language=language)

    def t(key: str, **params: object) -> str:
        return catalogs.text(language, key, **params)

    datasets = []
    for item in DATASETS:
        distributions = [
            {
                "@type": "dcat:Distribution",
                "title": f"{item.name}.{fmt}",
                "downloadURL": file_url(item.name, fmt),
                "mediaType": MEDIA[fmt],
                "format": fmt.upper(),
                **(
                    {"describedBy": dictionary_url(item.name), "describedByType": MEDIA["csv"]}
                    if fmt != "pdf"
                    else {}
                ),
            }
            for fmt in item.formats
        ]
        distributions.append(
            {
                "@type": "dcat:Distribution",
                "title": t("opendata.dictionary", file=item.name),
                "downloadURL": dictionary_url(item.name),
                "mediaType": MEDIA["csv"],
                "format": "CSV",
            }
        )
        datasets.append(
            {
                "@type": "dcat:Dataset",
                "identifier": f"{exercise.slug}-{item.name}",
                "title": t(f"opendata.dataset.{item.name}.title"),
                "description": t(f"opendata.dataset.{item.name}.description"),
                "keyword": ["participación ciudadana", "plan municipal de desarrollo", item.name],
                "modified": modified[item.name],
                "issued": exercise.opens.isoformat(),
                "temporal": f"{exercise.opens.isoformat()}/{exercise.closes.isoformat()}",
                "spatial": exercise.municipality,
                "language": ["es-MX"],
                "publisher": publisher,
                "contactPoint": contact,
                "accessLevel": "public",
                "license": LICENCE_URL,
                "rights": cite,
                "landingPage": landing_page,
                "accrualPeriodicity": "irregular" if item.name == "resultados" else period,
                "distribution": distributions,
            }
        )
    return {
        "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
        "@type": "dcat:Catalog",
        "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
        "title": consultation.text(exercise.title, language),
        "licencia": LICENCE,
        "atribucion": cite,
        "dataset": datasets,
    }
