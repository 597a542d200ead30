"""Proposing PII tags for a product's columns from their names and a sample of their values.

Each detector has name hints and, where the values alone can tell, a value test: an email pattern, a
phone shape (7 to 15 digits), a payment card (13 to 19 digits passing the Luhn check), a US social
security number, an IP address. Names, addresses and dates of birth look like any text or date, so
those need a name hint as well. Confidence is the share of sampled non-null values that pass (for hint
only kinds, the hint decides and the values must merely be plausible). Columns already tagged `pii` are
left alone; nothing is written unless asked.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_serializer

from lakemesh.engines import make_engine
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse import Lakehouse
from lakemesh.spec.workspace import ProductEntry
from lakemesh.sql import q, relation

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?[\d\s\-().]{7,22}$")
SSN = re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")
STREET = re.compile(r"\d+.*\b(street|st|avenue|ave|road|rd|lane|ln|strasse|straße|rue|via|way|blvd|drive|dr)\b", re.I)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
WORDS = re.compile(r"^[^\d@]{2,}( [^\d@]{2,}){1,3}$")


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _email(v: str) -> bool:
    return bool(EMAIL.match(v))


def _phone(v: str) -> bool:
    """7 to 15 digits written like a number to dial (a leading + or separators), not a date or a card."""
    digits = re.sub(r"\D", "", v)
    dialled = v.startswith("+") or bool(re.search(r"\d[\s\-().]+\d", v))
    return bool(PHONE.match(v)) and 7 <= len(digits) <= 15 and dialled and not ISO_DATE.match(v) and not _card(v)


def _card(v: str) -> bool:
    digits = re.sub(r"[\s-]", "", v)
    return digits.isdigit() and 13 <= len(digits) <= 19 and luhn(digits)


def _ssn(v: str) -> bool:
    return bool(SSN.match(v))


def _ip(v: str) -> bool:
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


def _birth_date(v: str) -> bool:
    try:
        day = date.fromisoformat(v[:10])
    except ValueError:
        return False
    return date(1900, 1, 1) <= day <= date.today().replace(year=date.today().year - 10)


def _name(v: str) -> bool:
    return bool(WORDS.match(v.strip()))


def _address(v: str) -> bool:
    return bool(STREET.search(v)) or len(v.split()) >= 3


@dataclass(frozen=True)
class Detector:
    kind: str
    hints: re.Pattern[str]
    test: Callable[[str], bool]
    values_decide: bool  # the values alone are evidence (an email is an email whatever the column's name)
    classification: str = "confidential"


DETECTORS = (
    Detector("email", re.compile(r"e_?mail|mail_?addr"), _email, True),
    Detector("payment_card", re.compile(r"card|^cc_|_cc$|^pan$|credit"), _card, True, "restricted"),
    Detector("national_id", re.compile(r"ssn|social_sec|national_id|nin$|tax_id|passport"), _ssn, True, "restricted"),
    Detector("ip_address", re.compile(r"(^|_)ip(_|$)|ip_?addr"), _ip, True),
    Detector("phone", re.compile(r"phone|mobile|(^|_)tel(_|$)|fax"), _phone, True),
    Detector("date_of_birth", re.compile(r"birth|dob|bday"), _birth_date, False, "restricted"),
    Detector("name", re.compile(r"(^|_)(full_|first_|last_|given_|family_|sur)?name$"), _name, False),
    Detector("address", re.compile(r"address|street|addr(_|$)|postcode|zip"), _address, False),
)


class Proposal(BaseModel):
    """PII tags proposed for one untagged column, with the evidence (`governance classify --json`)."""

    model_config = ConfigDict(frozen=True)

    column: str
    kind: str
    confidence: float
    classification: str
    examples: list[str] = Field(default_factory=list)
    by_name: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tags(self) -> list[str]:
        return ["pii", self.kind]

    @field_serializer("confidence")
    def _confidence(self, value: float) -> float:
        return round(value, 3)


def mask(value: str) -> str:
    """Enough of a value to recognise its shape, not enough to read it: `u***@example.com`, `+49*******23`."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) <= 4:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def propose(name: str, values: list[str]) -> Proposal | None:
    """The best PII kind for a column of this name holding these (non-null, text) values, if any."""
    best: Proposal | None = None
    lowered = name.lower()
    for d in DETECTORS:
        hinted = bool(d.hints.search(lowered))
        if not values and not hinted:
            continue
        share = sum(1 for v in values if d.test(v)) / len(values) if values else 0.0
        if d.values_decide:
            confidence = min(1.0, share + (0.15 if hinted else 0.0)) if share >= (0.5 if hinted else 0.8) else 0.0
        else:
            confidence = (0.6 + 0.4 * share) if hinted and (share >= 0.5 or not values) else 0.0
        if confidence and (best is None or confidence > best.confidence):
            examples = [mask(v) for v in values if d.test(v)][:2]
            best = Proposal(
                column=name,
                kind=d.kind,
                confidence=confidence,
                classification=d.classification,
                examples=examples,
                by_name=hinted,
            )
    return best


def classify(entry: ProductEntry, lakehouse: Lakehouse, sample: int = 1000) -> list[Proposal]:
    """Proposals for the product's untagged columns, from a sample of its table."""
    if entry.contract is None:
        raise LakemeshError(f"{entry.id} has no contract")
    columns = [c for c in entry.contract.table().columns if "pii" not in {t.lower() for t in c.tags}]
    if not columns:
        return []
    samples: dict[str, list[str]] = {c.name: [] for c in columns}
    if lakehouse.exists(entry.id):
        engine = make_engine()
        try:
            engine.register(entry.id, lakehouse.scan(entry.id))
            present = set(engine.query(f"SELECT * FROM {relation(entry.id)} LIMIT 0").column_names)
            picked = [c.name for c in columns if c.name in present]
            if picked:
                select = ", ".join(f"CAST({q(c)} AS VARCHAR) AS {q(c)}" for c in picked)
                rows = engine.query(f"SELECT {select} FROM {relation(entry.id)} USING SAMPLE {int(sample)} ROWS")
                for name in picked:
                    samples[name] = [v for v in rows.column(name).to_pylist() if v not in (None, "")]
        finally:
            engine.close()
    proposals = []
    for c in columns:
        found = propose(c.name, samples[c.name])
        if found is not None:
            proposals.append(found)
    return proposals


def write_proposals(contract_path: Path, proposals: list[Proposal]) -> None:
    """Add the proposed tags (and a classification where there is none) to the contract, comments kept."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    doc = yaml.load(contract_path.read_text())
    by_name = {p.column: p for p in proposals}
    for obj in doc.get("schema") or []:
        for prop in obj.get("properties") or []:
            proposal = by_name.get(str(prop.get("name")))
            if proposal is None:
                continue
            tags = list(prop.get("tags") or [])
            for tag in ("pii", proposal.kind):
                if tag not in tags:
                    tags.append(tag)
            prop["tags"] = tags
            if not prop.get("classification"):
                prop["classification"] = proposal.classification
    out = io.StringIO()
    yaml.dump(doc, out)
    contract_path.write_text(out.getvalue())
