"""Numbers sent as text are ASCII digits only, and nothing in the product asks ``isdigit``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pmd_domain.digits import is_digits, number

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["pmd_domain", "pmd_cli", "web", "bot", "whatsapp"]


@pytest.mark.parametrize(
    "text", ["", "²", "①", "٣", "３", "1_000", " 1", "1 ", "+1", "1\n", "1.0", "0x1", "-", "--1"]
)
def test_what_is_not_a_number(text: str) -> None:
    assert not is_digits(text)
    assert number(text) is None
    assert number(text, signed=True) is None


def test_numbers_and_their_bounds() -> None:
    assert number("0") == 0 and number("0042") == 42
    assert number("9" * 18) == 10**18 - 1
    assert number("9" * 19) is None and not is_digits("9" * 19)
    assert number("123", most=2) is None and is_digits("12", most=2)
    assert number("-100", signed=True) == -100 and number("-100") is None
    assert number("-" + "9" * 18, signed=True) == -(10**18 - 1)


def test_no_isdigit_in_the_product() -> None:
    """``str.isdigit`` says yes to "²", which ``int()`` refuses: use ``pmd_domain.digits``."""
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in PRODUCT
        for path in (ROOT / folder).rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\.isdigit\(|\.isdecimal\(|\.isnumeric\(", line)
    ]
    assert found == []


def test_a_postal_code_in_other_digits_is_not_a_postal_code() -> None:
    from pmd_domain.errors import InvalidChoice
    from pmd_domain.services.participants import validate_answer
    from tests.factories import open_consultation

    consultation = open_consultation()
    assert validate_answer(consultation, question="postal_code", answer="42000") == "42000"
    with pytest.raises(InvalidChoice):
        validate_answer(consultation, question="postal_code", answer="٤٢٠٠٠")
