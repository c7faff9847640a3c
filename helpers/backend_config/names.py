"""Airflow ids <-> Key Vault secret names, exactly as ``AzureKeyVaultBackend`` builds them.

The provider's rule (``build_path`` plus the constructor and ``_get_secret_value``):

* a prefix of ``None`` disables that lookup type: no request, ``None`` returned;
* a non-empty prefix loses trailing ``sep`` characters (``str.rstrip(sep)``);
* name = ``prefix + sep + id`` (or just ``id`` when the prefix is ``""``), then EVERY ``_``
  becomes ``sep``;
* since provider 13.3.0 a name that does not match ``[0-9a-zA-Z-]{1,127}`` is skipped with a
  WARNING in the log and no request (older providers got 400 BadParameter);
* Key Vault compares names case-insensitively.

The checks here report what the provider would silently skip or merge; :func:`reverse` lists a
vault's secret names as the Airflow variables, connections and config keys they answer.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from helpers.findings import Finding
from helpers.findings.codes.name import (
    INVALID_CHARACTERS,
    INVALID_PREFIX,
    LOOKUP_DISABLED,
    NAME_COLLISION,
    NAME_TOO_LONG,
    PREFIX_OVERLAP,
    TEAM_AMBIGUOUS_ID,
    UNDERSCORE_BECOMES_SEP,
    UPPERCASE_ID,
)
from helpers.settings import Settings, bad_name_chars

__all__ = [
    "MAX_NAME_LENGTH",
    "TEAM_SEP",
    "Kind",
    "NameMapping",
    "ReverseEntry",
    "ReverseMapping",
    "check_name",
    "check_names",
    "describe_mapping",
    "is_valid_name",
    "map_names",
    "name_findings",
    "normalize_prefix",
    "prefix_findings",
    "prefix_for",
    "reverse",
    "secret_name",
    "secret_name_for",
    "sep_of",
]

MAX_NAME_LENGTH = 127
VALID_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")  # the provider's own pattern, verbatim
TEAM_SEP = "--"  # the provider's separator between team name and id in multi-team mode


class Kind(StrEnum):
    VARIABLE = "variable"
    CONNECTION = "connection"
    CONFIG = "config"

    @property
    def prefix_field(self) -> str:
        return {"variable": "variables_prefix", "connection": "connections_prefix"}.get(
            self.value, "config_prefix"
        )


# -- catalogue ---------------------------------------------------------------------------


# -- the rule ------------------------------------------------------------------------------
def normalize_prefix(prefix: str | None, sep: str = "-") -> str | None:
    """The prefix as the backend's constructor stores it: a non-empty one loses trailing sep."""
    if prefix:
        return prefix.rstrip(sep)
    return prefix


def secret_name(prefix: str | None, key: str, sep: str = "-") -> str | None:
    """The secret name the provider requests for ``key``; ``None`` when lookups are disabled.

    ``prefix + sep + key`` (only ``key`` for an empty prefix), then every ``_`` becomes ``sep``.
    The name may still be invalid for Key Vault: see :func:`is_valid_name`.
    """
    prefix = normalize_prefix(prefix, sep)
    if prefix is None:
        return None
    key = key if isinstance(key, str) else str(key)
    path = key if prefix == "" else f"{prefix}{sep}{key}"
    return path.replace("_", sep)


def is_valid_name(name: str | None) -> bool:
    """Whether the provider would send this name to the vault (``[0-9a-zA-Z-]{1,127}``)."""
    return isinstance(name, str) and VALID_NAME.fullmatch(name) is not None


def prefix_for(kind: Kind | str, settings: Settings) -> str | None:
    """The prefix of one kind, as configured (not yet normalised)."""
    prefix = getattr(settings, _kind(kind).prefix_field, None)
    return prefix if prefix is None or isinstance(prefix, str) else str(prefix)


def sep_of(settings: Settings) -> str:
    """The configured separator ("-" when it is not a string at all)."""
    sep = getattr(settings, "sep", "-")
    return sep if isinstance(sep, str) else "-"


def secret_name_for(kind: Kind | str, key: str, settings: Settings) -> str | None:
    return secret_name(prefix_for(kind, settings), key, sep_of(settings))


@dataclass(frozen=True)
class NameMapping:
    """One Airflow id and the secret name the provider would request for it."""

    kind: Kind
    airflow_id: str
    secret_name: str | None
    valid: bool
    reason: str = ""

    def __str__(self) -> str:
        head = f"{self.kind.value} {self.airflow_id}"
        if self.secret_name is None:
            return f"{head} → (not looked up: {self.reason})"
        tail = "" if self.valid else f"  (skipped by the provider: {self.reason})"
        return f"{head} → secret {self.secret_name}{tail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "airflow_id": self.airflow_id,
            "secret_name": self.secret_name,
            "valid": self.valid,
            "reason": self.reason,
        }


def map_names(kind: Kind | str, ids: Iterable[str], settings: Settings) -> list[NameMapping]:
    kind = _kind(kind)
    out = []
    for airflow_id in ids:
        name = secret_name_for(kind, airflow_id, settings)
        if name is None:
            out.append(NameMapping(kind, airflow_id, None, False, f"{kind.prefix_field} is null"))
        elif is_valid_name(name):
            out.append(NameMapping(kind, airflow_id, name, True))
        else:
            out.append(NameMapping(kind, airflow_id, name, False, _why_invalid(name)))
    return out


def describe_mapping(kind: Kind | str, ids: Iterable[str], settings: Settings) -> str:
    """``variable sample_var → secret airflow-variables-sample-var``, one line per id."""
    return "\n".join(str(m) for m in map_names(kind, ids, settings))


# -- checks --------------------------------------------------------------------------------
def check_name(kind: Kind | str, airflow_id: str, settings: Settings) -> list[Finding]:
    """Findings about one id: invalid or too long names, case, underscores, '--'."""
    kind = _kind(kind)
    subject = f"{kind.value} {airflow_id}"
    name = secret_name(prefix_for(kind, settings), airflow_id, sep_of(settings))
    if name is None:
        return [LOOKUP_DISABLED(subject, f"{kind.prefix_field} is null", kind=kind.value)]
    data = {"kind": kind.value, "airflow_id": airflow_id, "secret_name": name}
    findings: list[Finding] = []
    id_part = str(airflow_id).replace("_", sep_of(settings))
    bad = bad_name_chars(id_part)
    if not id_part:
        findings.append(INVALID_CHARACTERS(subject, "the id is empty", **data))
    elif bad:
        findings.append(
            INVALID_CHARACTERS(
                subject,
                f"secret name {name!r} contains {_show(bad)}; the provider skips it without "
                "a request",
                characters=bad,
                **data,
            )
        )
    if len(name) > MAX_NAME_LENGTH:
        findings.append(
            NAME_TOO_LONG(
                subject,
                f"secret name {name!r} has {len(name)} characters (at most {MAX_NAME_LENGTH})",
                length=len(name),
                **data,
            )
        )
    if findings:
        return findings
    if any(c.isupper() for c in str(airflow_id)):
        findings.append(
            UPPERCASE_ID(subject, f"read from {name!r}, matched case-insensitively", **data)
        )
    if "_" in str(airflow_id):
        findings.append(UNDERSCORE_BECOMES_SEP(subject, f"read from secret {name!r}", **data))
    if TEAM_SEP in id_part:
        findings.append(
            TEAM_AMBIGUOUS_ID(subject, f"{airflow_id!r} normalises to {id_part!r}", **data)
        )
    return findings


def name_findings(kind: Kind | str, ids: Iterable[str], settings: Settings) -> list[Finding]:
    """Findings for many ids of one kind: a broken prefix, each id, collisions among them."""
    return _name_findings(_kind(kind), _unique(ids), settings, with_prefix=True)


def _name_findings(
    kind: Kind, ids: list[str], settings: Settings, *, with_prefix: bool
) -> list[Finding]:
    if not ids:
        return []
    if prefix_for(kind, settings) is None:
        return [
            LOOKUP_DISABLED(
                kind.value,
                f"{kind.prefix_field} is null, so {', '.join(map(repr, ids))} "
                f"{'is' if len(ids) == 1 else 'are'} never read from the vault",
                kind=kind.value,
                ids=ids,
            )
        ]
    findings = _prefix_problems(kind, settings) if with_prefix else []
    for airflow_id in ids:
        findings.extend(check_name(kind, airflow_id, settings))
    findings.extend(_collisions([(kind, i) for i in ids], settings))
    return findings


def _name_head(kind: Kind, settings: Settings) -> tuple[str | None, str | None]:
    """(normalised prefix, what every secret name of this kind starts with); None: disabled."""
    sep = sep_of(settings)
    prefix = normalize_prefix(prefix_for(kind, settings), sep)
    if prefix is None:
        return None, None
    return prefix, "" if prefix == "" else f"{prefix}{sep}".replace("_", sep)


def _prefix_problems(kind: Kind, settings: Settings) -> list[Finding]:
    prefix, head = _name_head(kind, settings)
    if head is None:
        return []
    sep = sep_of(settings)
    data = {"kind": kind.value, "prefix": prefix, "sep": sep}
    bad = bad_name_chars(head)
    if bad:
        return [
            INVALID_PREFIX(
                kind.prefix_field,
                f"{kind.prefix_field}={prefix!r} with sep={sep!r} gives names starting "
                f"{head!r}, which contain {_show(bad)}",
                characters=bad,
                **data,
            )
        ]
    if len(head) >= MAX_NAME_LENGTH:
        return [
            NAME_TOO_LONG(
                kind.prefix_field,
                f"names start with {head!r} ({len(head)} characters), leaving no room for an id",
                **data,
            )
        ]
    return []


def prefix_findings(settings: Settings) -> list[Finding]:
    """Prefixes or separators that break every name of a kind, and prefixes that overlap."""
    findings: list[Finding] = []
    heads: dict[Kind, str] = {}
    for kind in Kind:
        _, head = _name_head(kind, settings)
        if head is not None:
            heads[kind] = head
            findings.extend(_prefix_problems(kind, settings))
    kinds = list(heads)
    for i, a in enumerate(kinds):
        for b in kinds[i + 1 :]:
            ha, hb = heads[a].lower(), heads[b].lower()
            if not (hb.startswith(ha) or ha.startswith(hb)):
                continue
            wide, narrow = (a, b) if hb.startswith(ha) else (b, a)
            findings.append(
                PREFIX_OVERLAP(
                    f"{wide.prefix_field} / {narrow.prefix_field}",
                    f"{wide.value} lookups (names starting {heads[wide]!r}) also reach "
                    f"{narrow.value} secrets (names starting {heads[narrow]!r})",
                    wide=wide.value,
                    narrow=narrow.value,
                )
            )
    return findings


def check_names(settings: Settings) -> list[Finding]:
    """Every name finding for an environment: prefixes, its variables and connections, and
    collisions across kinds."""
    variables = _unique(settings.variables)
    connections = _unique(settings.connections)
    findings = prefix_findings(settings)
    findings += _name_findings(Kind.VARIABLE, variables, settings, with_prefix=False)
    findings += _name_findings(Kind.CONNECTION, connections, settings, with_prefix=False)
    pairs = [(Kind.VARIABLE, i) for i in variables] + [(Kind.CONNECTION, i) for i in connections]
    findings += [f for f in _collisions(pairs, settings) if len(set(f.data["kinds"])) > 1]
    return findings


def _collisions(pairs: Sequence[tuple[Kind, str]], settings: Settings) -> list[Finding]:
    groups: dict[str, list[tuple[Kind, str, str]]] = defaultdict(list)
    for kind, airflow_id in pairs:
        name = secret_name_for(kind, airflow_id, settings)
        if name is not None and is_valid_name(name):
            groups[name.lower()].append((kind, airflow_id, name))
    findings = []
    for members in groups.values():
        if len(members) < 2:
            continue
        why = []
        if len({(k, i.replace("_", sep_of(settings))) for k, i, _ in members}) < len(members):
            why.append("'_' becomes the separator")
        if len({n for _, _, n in members}) > 1:
            why.append("Key Vault ignores case")
        if len({k for k, _, _ in members}) > 1:
            why.append("the prefixes overlap")
        name = members[0][2]
        findings.append(
            NAME_COLLISION(
                ", ".join(f"{k.value} {i!r}" for k, i, _ in members),
                f"all read secret {name!r} ({' and '.join(why)})",
                ids=[i for _, i, _ in members],
                kinds=[k.value for k, _, _ in members],
                secret_name=name,
            )
        )
    return findings


# -- reverse mapping -----------------------------------------------------------------------
@dataclass(frozen=True)
class ReverseEntry:
    """A secret the backend reads for ``kind`` ``airflow_id`` (ids are case-insensitive)."""

    secret_name: str
    kind: Kind
    airflow_id: str
    aliases: tuple[str, ...] = ()
    note: str = ""

    def __str__(self) -> str:
        alias = f" (also {', '.join(self.aliases)})" if self.aliases else ""
        note = f"  [{self.note}]" if self.note else ""
        return f"secret {self.secret_name} → {self.kind.value} {self.airflow_id}{alias}{note}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "secret_name": self.secret_name,
            "kind": self.kind.value,
            "airflow_id": self.airflow_id,
            "aliases": list(self.aliases),
            "note": self.note,
        }


@dataclass
class ReverseMapping:
    entries: list[ReverseEntry] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    def ids(self, kind: Kind | str) -> dict[str, str]:
        """Airflow id -> secret name for one kind."""
        kind = _kind(kind)
        return {e.airflow_id: e.secret_name for e in self.entries if e.kind is kind}

    @property
    def variables(self) -> dict[str, str]:
        return self.ids(Kind.VARIABLE)

    @property
    def connections(self) -> dict[str, str]:
        return self.ids(Kind.CONNECTION)

    @property
    def config(self) -> dict[str, str]:
        return self.ids(Kind.CONFIG)

    def describe(self) -> str:
        lines = [str(e) for e in self.entries]
        lines += [f"secret {n} → (read by no lookup)" for n in self.unmatched]
        return "\n".join(lines) or "(no secrets)"

    def __str__(self) -> str:
        return self.describe()

    def to_dict(self) -> dict[str, Any]:
        return {"entries": [e.to_dict() for e in self.entries], "unmatched": list(self.unmatched)}


def reverse(secret_names: Iterable[str], settings: Settings) -> ReverseMapping:
    """What each secret in a vault is to Airflow: variable, connection, config key, or nothing.

    A secret can answer more than one kind when prefixes overlap. Secrets whose names the
    provider can never request (invalid names) are listed as unmatched.
    """
    sep = sep_of(settings)
    heads = [(k, h) for k in Kind if (h := _name_head(k, settings)[1]) is not None]
    result = ReverseMapping()
    for raw in secret_names:
        name = raw if isinstance(raw, str) else str(raw)
        matched = False
        if is_valid_name(name):
            for kind, head in heads:
                if not name.lower().startswith(head.lower()) or len(name) == len(head):
                    continue
                rest = name[len(head) :]
                aliases = (rest.replace(sep, "_"),) if sep and sep in rest else ()
                note = ""
                if TEAM_SEP in rest:
                    team, _, inner = rest.partition(TEAM_SEP)
                    note = f"multi-team mode: team {team!r}, id {inner!r}"
                result.entries.append(ReverseEntry(name, kind, rest, aliases, note))
                matched = True
        if not matched:
            result.unmatched.append(name)
    return result


# -- small helpers -------------------------------------------------------------------------
def _kind(kind: Kind | str) -> Kind:
    if isinstance(kind, Kind):
        return kind
    text = str(kind).strip().lower().rstrip("s")
    aliases = {"var": "variable", "conn": "connection", "configuration": "config"}
    return Kind(aliases.get(text, text))


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i if isinstance(i, str) else str(i) for i in ids or ()))


def _show(chars: Sequence[str]) -> str:
    shown = ", ".join(repr(c) if c.isprintable() else f"U+{ord(c):04X}" for c in chars)
    return f"{shown} (only 0-9, a-z, A-Z and '-' are allowed)"


def _why_invalid(name: str) -> str:
    if not name:
        return "empty name"
    bad = bad_name_chars(name)
    if bad:
        return "contains " + ", ".join(repr(c) for c in bad)
    return f"{len(name)} characters (at most {MAX_NAME_LENGTH})"
