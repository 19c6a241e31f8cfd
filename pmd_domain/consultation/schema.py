"""The shape of a consultation definition file (TOML), validated with pydantic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    field_validator,
    model_validator,
)

from pmd_domain.assurance import Assurance

KEY_PATTERN = r"^[a-z0-9][a-z0-9_\-.]{0,31}$"
Key = Annotated[str, Field(pattern=KEY_PATTERN)]
# A campaign source is the deep-link payload itself (``t.me/<bot>?start=fb_alcalde``):
# what Telegram accepts there, lower case.
SOURCE_PATTERN = r"^[a-z0-9_\-]{1,60}$"  # fits in the consent buttons (c:y:<key>)
SourceKey = Annotated[str, Field(pattern=SOURCE_PATTERN)]
OTHER_SOURCE = "otra"  # any payload that is not in the list: recorded, never printed
RESERVED_SOURCES = (OTHER_SOURCE, "sin_respuesta")
AGE_QUESTION = "age_group"

# A text is either one string (the consultation's default language) or a table
# of languages: ``{ es = "Salud", en = "Health" }``.
Text = str | dict[str, str]


def pick(text: Text, language: str, default: str) -> str:
    """Return the text in ``language``, falling back to the default language."""
    if isinstance(text, str):
        return text
    return text.get(language) or text.get(default) or next(iter(text.values()))


# The years an exercise may open and close in (dates past them overflow the calendars).
FIRST_YEAR, LAST_YEAR = 2000, 2100


class Strict(BaseModel):
    """Base: unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Exercise(Strict):
    slug: Key
    title: Text
    municipality: str
    authority: str
    opens: datetime
    closes: datetime
    timezone: str = "America/Mexico_City"
    vision_year: int = Field(ge=2000, le=2200)
    folio_prefix: str = Field(pattern=r"^[A-Z0-9]{2,10}$")
    default_language: str = "es"
    languages: list[str] = Field(default_factory=lambda: ["es", "en"])
    # A demonstration (``make run``): every page says so and its data are fictional.
    demo: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"zona horaria desconocida: {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _localize(self) -> Exercise:
        zone = ZoneInfo(self.timezone)
        for name in ("opens", "closes"):
            moment: datetime = getattr(self, name)
            if moment.tzinfo is None:
                object.__setattr__(self, name, moment.replace(tzinfo=zone))
        if self.closes <= self.opens:
            raise ValueError("closes debe ser posterior a opens")
        if not (self.opens.year >= FIRST_YEAR and self.closes.year <= LAST_YEAR):
            # the retention period and the calendars are counted from these dates
            raise ValueError(
                f"opens y closes deben estar entre los años {FIRST_YEAR} y {LAST_YEAR}"
            )
        return self


class Topic(Strict):
    key: Key
    name: Text


class Action(Strict):
    key: str = Field(min_length=1, max_length=32)
    name: Text


class Pillar(Strict):
    key: Key
    number: int = Field(ge=1, le=99)
    name: Text
    vision_subject: Text = ""
    topics: list[Topic] = Field(min_length=1)
    actions: list[Action] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_keys(self) -> Pillar:
        _require_unique([t.key for t in self.topics], "topics")
        _require_unique([a.key for a in self.actions], "actions")
        return self

    def topic(self, key: str) -> Topic | None:
        """The topic of this pillar with ``key``, if any."""
        return next((t for t in self.topics if t.key == key), None)


class Option(Strict):
    key: Key
    label: Text
    # For the age question: the oldest age of the group (``17`` for "Menos de 18 años"),
    # checked against ``privacy.minimum_age``.
    max_age: int | None = Field(default=None, ge=0, le=150)


class Question(Strict):
    key: Key
    prompt: Text
    kind: str = Field(default="choice", pattern=r"^(choice|postal_code|text)$")
    options: list[Option] = Field(default_factory=list)

    @model_validator(mode="after")
    def _options_for_choice(self) -> Question:
        if self.kind == "choice" and len(self.options) < 2:
            raise ValueError("una pregunta de opciones necesita al menos dos opciones")
        _require_unique([o.key for o in self.options], "options")
        return self


class Census(Strict):
    source: str
    population: int = Field(gt=0)
    shares: dict[str, dict[str, float]] = Field(default_factory=dict)
    counts: dict[str, dict[str, int]] = Field(default_factory=dict)


class Limits(Strict):
    problem_min_chars: int = Field(default=10, ge=1)
    proposal_min_chars: int = Field(default=10, ge=1)
    text_max_chars: int = Field(default=1000, ge=20, le=3500)
    vision_max_chars: int = Field(default=600, ge=20, le=3500)
    proposals_per_participant: int = Field(default=10, ge=1)
    supports_per_participant: int = Field(default=100, ge=1)
    small_cell_k: int = Field(default=5, ge=2)
    # The breakdowns are published again at most this often (and only after k changes).
    publication_interval_minutes: int = Field(default=10, ge=0, le=10_080)
    reports_to_requeue: int = Field(default=3, ge=1)
    name_max_chars: int = Field(default=120, ge=10, le=300)


class Privacy(Strict):
    version: str = Field(min_length=1)
    short: Text
    full: Text
    keep_anonymous_proposals: bool = True
    controller: str = ""
    # Personal data are deleted or anonymised this many days after the exercise closes.
    retention_days: StrictInt = Field(default=365, ge=0, le=36_500)
    # Younger people are not registered (LGPDPPSO art. 20; see docs/privacy.md).
    minimum_age: StrictInt = Field(default=18, ge=0, le=120)


class Vision(Strict):
    question: Text


class CertificateWording(Strict):
    title: Text = "Constancia de participación"
    grants: Text = "Otorga la presente constancia a"
    reason: Text = "por su participación en"
    signer_name: str = ""
    signer_title: str = ""
    folio_prefix: str = Field(default="C", pattern=r"^[A-Z0-9]{1,10}$")


class Window(Strict):
    """At most ``count`` events in any ``minutes`` (a sliding window)."""

    count: int = Field(ge=1)
    minutes: int = Field(ge=1, le=1440)


class AddressLimits(Strict):
    """Per client address (browser chat only). Generous: a mobile carrier puts many
    phones behind one address (see docs/integrity.md for the reasoning)."""

    participants: Window = Window(count=30, minutes=10)
    supports: Window = Window(count=300, minutes=10)
    reports: Window = Window(count=20, minutes=10)
    codes: Window = Window(count=30, minutes=10)


class ReportRules(Strict):
    """Which reports count and how many send a published proposal back to moderation.

    The minimum number of reports is ``limits.reports_to_requeue``; the threshold is
    the larger of it and ``share_of_views`` of the proposal's views. A proposal a
    moderator kept after reports (confirmed) needs the ``confirmed_*`` threshold of
    new reports, and stays published while it is reviewed again.
    """

    min_account_minutes: int = Field(default=60, ge=0, le=60 * 24 * 30)
    share_of_views: float = Field(default=0.05, ge=0, le=1)
    confirmed_min_reports: int = Field(default=10, ge=1)
    confirmed_share_of_views: float = Field(default=0.15, ge=0, le=1)


class Bursts(Strict):
    """What the anomaly watch flags to staff: counts per ``window_minutes`` at or above these."""

    window_minutes: int = Field(default=60, ge=5, le=1440)
    watch_hours: int = Field(default=24, ge=1, le=48)
    participants_per_address: int = Field(default=20, ge=1)
    supports_per_address: int = Field(default=150, ge=1)
    participants_per_source: int = Field(default=300, ge=1)
    supports_per_source: int = Field(default=1000, ge=1)
    supports_per_proposal: int = Field(default=100, ge=1)


IN_PERSON_DAYS_MAX = 366  # an in-person code lasts a year at most


class Codes(Strict):
    """Verification codes: how long they last, and attempts per participant."""

    in_person_days: int = Field(default=60, ge=1, le=IN_PERSON_DAYS_MAX)
    link_minutes: int = Field(default=15, ge=1, le=24 * 60)
    attempts: Window = Window(count=10, minutes=15)


class Integrity(Strict):
    """One person, one voice (SPEC §9): which assurance levels count, limits, reports, bursts."""

    count_levels: list[Assurance] = Field(
        default_factory=lambda: [Assurance.PHONE, Assurance.VERIFIED], min_length=1
    )
    address_limits: AddressLimits = AddressLimits()
    reports: ReportRules = ReportRules()
    bursts: Bursts = Bursts()
    codes: Codes = Codes()

    @model_validator(mode="after")
    def _unique_levels(self) -> Integrity:
        _require_unique([str(level) for level in self.count_levels], "count_levels")
        return self

    def counts(self, level: str) -> bool:
        """Whether supports (and reports) of ``level`` count toward the public ranking."""
        return level in self.count_levels


# What each WhatsApp template is for, and the values its body parameters may take.
TEMPLATE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "campaign": ("text", "link"),  # a broadcast to citizens outside the 24-hour window
    "outcome": ("folio", "outcome", "link"),  # the office's answer to a proposal
}


class WhatsAppTemplate(Strict):
    """An approved WhatsApp message template: its name, language and body parameters, in order."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str = Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    parameters: list[str] = Field(default_factory=list, max_length=10)


class WhatsAppRules(Strict):
    """``[whatsapp.templates.<purpose>]``: the templates sent outside the 24-hour window."""

    templates: dict[str, WhatsAppTemplate] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_purposes(self) -> WhatsAppRules:
        for purpose, template in self.templates.items():
            allowed = TEMPLATE_PARAMETERS.get(purpose)
            if allowed is None:
                known = ", ".join(TEMPLATE_PARAMETERS)
                raise ValueError(f"whatsapp.templates.{purpose}: propósito desconocido ({known})")
            for name in template.parameters:
                if name not in allowed:
                    raise ValueError(
                        f"whatsapp.templates.{purpose}: el parámetro {name!r} no existe "
                        f"(usa {', '.join(allowed)})"
                    )
        return self


class Office(Strict):
    """Who is behind the exercise: shown in every page's footer, the notice and the certificate."""

    name: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    transparency: str = ""  # the Unidad de Transparencia (where to exercise ARCO rights)
    legal_basis: Text = ""  # the privacy notice's legal basis
    coat_of_arms: str = ""  # an image path, relative to the consultation file or absolute


ColoniaName = Annotated[str, Field(min_length=2, max_length=80)]
PostalCode = Annotated[str, Field(pattern=r"^[0-9]{5}$")]


class Consultation(Strict):
    exercise: Exercise
    pillars: list[Pillar] = Field(min_length=1)
    demographics: list[Question] = Field(default_factory=list)
    census: Census | None = None
    limits: Limits = Limits()
    privacy: Privacy
    vision: Vision
    certificate: CertificateWording = CertificateWording()
    integrity: Integrity = Field(default_factory=Integrity)
    sources: dict[SourceKey, Text] = Field(default_factory=dict)
    whatsapp: WhatsAppRules = Field(default_factory=WhatsAppRules)
    # Colonias by name (name -> postal code), so a citizen can answer with either.
    colonias: dict[ColoniaName, PostalCode] = Field(default_factory=dict)
    office: Office = Office()
    _live: _LiveSources | None = PrivateAttr(default=None)
    _coat_of_arms: bytes | None = PrivateAttr(default=None)

    @property
    def coat_of_arms(self) -> bytes | None:
        """The office's coat of arms (PNG or JPEG bytes) read with the file, or None."""
        return self._coat_of_arms

    def attach_coat_of_arms(self, image: bytes | None) -> None:
        """Keep the image ``[office] coat_of_arms`` names (read once, by the loader)."""
        self._coat_of_arms = image

    @model_validator(mode="after")
    def _unique_pillars(self) -> Consultation:
        _require_unique([p.key for p in self.pillars], "pillars")
        _require_unique([q.key for q in self.demographics], "demographics")
        return self

    @field_validator("sources")
    @classmethod
    def _sources_not_reserved(cls, value: dict[str, Text]) -> dict[str, Text]:
        for key in RESERVED_SOURCES:
            if key in value:
                raise ValueError(f"la fuente {key!r} está reservada; usa otra clave")
        return value

    @model_validator(mode="after")
    def _ages_coherent(self) -> Consultation:
        question = self.question(AGE_QUESTION)
        minimum = self.privacy.minimum_age
        for option in question.options if question else []:
            if option.max_age is not None and option.max_age < minimum:
                raise ValueError(
                    f"demographics.{AGE_QUESTION}: la opción {option.key!r} es para menores de "
                    f"{minimum} años, la edad mínima (privacy.minimum_age); quítala o baja la edad"
                )
        return self

    def follow_sources(self, reload: Callable[[], dict[str, Text] | None]) -> None:
        """Let ``reload_sources`` take the campaign sources from ``reload`` (the file again)."""
        self._live = _LiveSources(reload, dict(self.sources))

    def reload_sources(self) -> bool:
        """Read the campaign sources again (blocking: a file); whether they changed."""
        return self._live.refresh() if self._live is not None else False

    def source_list(self) -> dict[str, Text]:
        """The campaign sources in force (key -> label)."""
        return self._live.current if self._live is not None else dict(self.sources)

    def campaign_source(self, payload: str | None) -> str | None:
        """What is recorded for a deep-link payload: a listed key, ``"otra"``, or None."""
        raw = (payload or "").strip().lower()
        if not raw:
            return None
        return raw if raw in self.source_list() else OTHER_SOURCE

    def pillar(self, key: str) -> Pillar | None:
        """The pillar with ``key``, if any."""
        return next((p for p in self.pillars if p.key == key), None)

    def question(self, key: str) -> Question | None:
        """The demographic question with ``key``, if any."""
        return next((q for q in self.demographics if q.key == key), None)

    def labels(self, language: str, *, numbered: bool = False) -> dict[str, str]:
        """The names of the plan's parts by key: a pillar by its key (``"2. Name"`` when
        ``numbered``), a topic by ``pillar.topic``, a strategic action by ``action:key``."""
        names: dict[str, str] = {}
        for pillar in self.pillars:
            name = self.text(pillar.name, language)
            names[pillar.key] = f"{pillar.number}. {name}" if numbered else name
            for topic in pillar.topics:
                names[f"{pillar.key}.{topic.key}"] = self.text(topic.name, language)
            for action in pillar.actions:
                names[f"action:{action.key}"] = self.text(action.name, language)
        return names

    def is_open(self, now: datetime) -> bool:
        """Whether proposals and votes are accepted at ``now`` (aware datetime)."""
        return self.exercise.opens <= now < self.exercise.closes

    def text(self, value: Text, language: str) -> str:
        """Resolve a configured text in ``language``."""
        return pick(value, language, self.exercise.default_language)


class _LiveSources:
    """The campaign sources, read again from their file by ``refresh`` when it changed."""

    def __init__(self, reload: Callable[[], dict[str, Text] | None], current: dict[str, Text]):
        self._reload = reload
        self.current = current

    def refresh(self) -> bool:
        found = self._reload()
        if found is None or found == self.current:
            return False
        self.current = found
        return True


def _require_unique(keys: list[str], what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"clave repetida en {what}: {key!r}")
        seen.add(key)
