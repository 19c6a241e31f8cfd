"""tomllib's syntax errors in Spanish, for whoever edits the consultation file.

``tomllib`` words its errors in English and has a small, fixed set of them (the same
in Python 3.11 to 3.13); each is matched here and told in Spanish. One not listed
(a newer Python) is shown as tomllib wrote it.
"""

from __future__ import annotations

from pmd_domain.retell import Retelling

spanish_toml_error = Retelling(
    (
        (r"Cannot overwrite a value", "un valor se define dos veces"),
        (
            r"Escaped character is not a Unicode scalar value",
            "un carácter escapado no es un carácter Unicode válido",
        ),
        (r"Expected '=' after a key in a key/value pair", "falta «=» después de la clave"),
        (
            r"Expected newline or end of document after a statement",
            "sobra algo después del valor (¿falta poner el texto entre comillas?)",
        ),
        (
            r"Expected '\]' at the end of a table declaration",
            "falta «]» al final del nombre de la sección",
        ),
        (
            r"Expected '\]\]' at the end of an array declaration",
            "falta «]]» al final del nombre de la sección",
        ),
        (r"Invalid date or datetime", "fecha u hora no válida"),
        (r"Invalid hex value", "valor hexadecimal no válido"),
        (
            r"Invalid initial character for a key part",
            "una clave empieza con un carácter no válido",
        ),
        (r"Invalid statement", "línea no válida (se espera «clave = valor» o «[sección]»)"),
        (r"Invalid value", "valor no válido (¿falta poner el texto entre comillas?)"),
        (r"Unclosed array", "una lista [...] no se cierra"),
        (r"Unclosed inline table", "una tabla {...} no se cierra"),
        (r"Unescaped '\\' in a string", "una «\\» sin escapar en un texto (escribe «\\\\»)"),
        (r"Unterminated string", "un texto no cierra sus comillas"),
        (r"Cannot declare (.+) twice", lambda m: f"la sección {m[1]} se declara dos veces"),
        (
            r"Cannot mutate immutable namespace (.+)",
            lambda m: f"{m[1]} ya está definido y no se puede cambiar",
        ),
        (
            r"Cannot redefine namespace (.+)",
            lambda m: f"{m[1]} ya está definido y no se puede volver a definir",
        ),
        (r"Duplicate inline table key (.+)", lambda m: f"clave repetida en una tabla: {m[1]}"),
        (r"Found invalid character (.+)", lambda m: f"carácter no válido: {m[1]}"),
        (r"Illegal character '\\n'", "un texto no cierra sus comillas en su línea"),
        (r"Illegal character (.+)", lambda m: f"carácter no permitido: {m[1]}"),
        (r"Expected (.+)", lambda m: f"se esperaba {m[1]}"),
    )
)
