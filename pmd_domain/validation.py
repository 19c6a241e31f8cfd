"""pydantic's validation errors in Spanish, for the consultation file and the settings."""

from __future__ import annotations

from typing import Any

_SPANISH = {
    "missing": "falta este dato",
    "extra_forbidden": "clave desconocida (¿un error de escritura?)",
    "string_pattern_mismatch": "formato no válido",
    "string_type": "debe ser un texto",
    "int_type": "debe ser un número entero",
    "int_parsing": "debe ser un número entero",
    "int_from_float": "debe ser un número entero",
    "float_type": "debe ser un número",
    "float_parsing": "debe ser un número",
    "bool_type": "debe ser true o false",
    "bool_parsing": "debe ser true o false",
    "datetime_type": "debe ser una fecha y hora (AAAA-MM-DDTHH:MM:SS)",
    "datetime_parsing": "debe ser una fecha y hora (AAAA-MM-DDTHH:MM:SS)",
    "datetime_from_date_parsing": "debe ser una fecha y hora (AAAA-MM-DDTHH:MM:SS)",
    "date_type": "debe ser una fecha (AAAA-MM-DD)",
    "date_parsing": "debe ser una fecha (AAAA-MM-DD)",
    "date_from_datetime_parsing": "debe ser una fecha (AAAA-MM-DD)",
    "list_type": "debe ser una lista",
    "dict_type": "debe ser una tabla",
    "too_short": "tiene muy pocos elementos",
    "greater_than_equal": "es demasiado pequeño",
    "greater_than": "es demasiado pequeño",
    "less_than_equal": "es demasiado grande",
    "less_than": "es demasiado grande",
    "string_too_short": "es demasiado corto",
    "string_too_long": "es demasiado largo",
    "ip_v4_network": "debe ser una red (por ejemplo 10.0.0.0/8)",
    "ip_any_network": "debe ser una red (por ejemplo 10.0.0.0/8)",
}


def spanish(error: Any) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) said in Spanish."""
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind in ("enum", "literal_error") and context.get("expected"):
        return f"debe ser uno de: {context['expected']}"
    if kind in ("value_error", "assertion_error"):
        return str(context.get("error", error["msg"]))
    return _SPANISH.get(kind, str(error["msg"]))
