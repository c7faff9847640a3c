"""The ONE provider ↔ Airflow ↔ Python table, and the verdicts drawn from it.

It sits in ``settings`` (not ``backend_config``) on purpose: it is pure data plus functions that
return findings, and both settings validation (:func:`helpers.settings.validate_settings`) and
the backend configuration (render, lint) use it, so it must live at the lower of the two
layers. Every "does this provider fit this Airflow / Python" answer comes from
:func:`provider_fit`, always with the AKV-VER codes.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from helpers.findings import Finding
from helpers.findings.codes.ver import (
    PROVIDER_NEEDS_AIRFLOW,
    PROVIDER_NEEDS_PYTHON,
    PROVIDER_SENDS_INVALID_NAMES,
    REAUTH_PER_LOOKUP,
)
from helpers.settings.checks import parse_version

__all__ = [
    "PROVIDER",
    "PROVIDER_CAP",
    "PROVIDER_MIN_AIRFLOW",
    "PROVIDER_MIN_PYTHON",
    "airflow_floor",
    "lint_versions",
    "provider_cap",
    "provider_fit",
    "provider_requirement",
]

PROVIDER = "apache-airflow-providers-microsoft-azure"
# Newest provider release per Airflow minor (from the provider changelog's "only available for
# Airflow 2.N+" notes): Airflow 2.6.3 can install at most 10.0.0. From 2.11 on: no cap.
PROVIDER_CAP = {
    (2, 0): "2.0.0",
    (2, 1): "3.9.0",
    (2, 2): "4.3.0",
    (2, 3): "6.0.0",
    (2, 4): "7.0.0",
    (2, 5): "8.3.0",
    (2, 6): "10.0.0",
    (2, 7): "10.3.0",
    (2, 8): "11.1.0",
    (2, 9): "12.3.1",
    (2, 10): "12.8.1",
}
# First provider release that needs each Airflow minor (newest first).
PROVIDER_MIN_AIRFLOW = {
    "12.9.0": "2.11",
    "12.4.0": "2.10",
    "12.0.0": "2.9",
    "10.4.0": "2.8",
    "10.1.0": "2.7",
    "8.4.0": "2.6",
    "8.0.0": "2.5",
    "6.1.0": "2.4",
    "5.0.0": "2.3",
    "4.0.0": "2.2",
    "3.0.0": "2.1",
}
# First provider release that needs each Python (newest first).
PROVIDER_MIN_PYTHON = {"15.0.0": "3.11"}
REAUTH_FIXED = Version("3.3.2")  # Airflow 3.0.0 – 3.3.1 build a credential per lookup
NAME_CHECK_SINCE = Version("13.3.0")  # the provider skips names Key Vault cannot hold


def provider_cap(airflow_version: object) -> str | None:
    """Newest provider release that supports ``airflow_version``.

    None when every current release supports it (2.11 and later) or when the version cannot
    be read (validation reports that as AKV-SET-021).
    """
    try:
        version = Version(str(airflow_version).strip())
    except InvalidVersion:
        return None
    minor = (version.major, version.minor)
    if minor >= (2, 11) or version.major >= 3:
        return None
    return PROVIDER_CAP.get(minor, PROVIDER_CAP[min(PROVIDER_CAP)])


def airflow_floor(provider: Version) -> Version | None:
    """The oldest Airflow ``provider`` installs on (None: no known floor)."""
    return next(
        (Version(a) for p, a in PROVIDER_MIN_AIRFLOW.items() if provider >= Version(p)), None
    )


def provider_requirement(
    airflow_version: str | None, provider_version: str | None = None, *, minimum: str | None = None
) -> str:
    """The requirements line: pinned if ``provider_version``, else capped for Airflow."""
    if provider_version:
        return f"{PROVIDER}=={provider_version}"
    parts = [f">={minimum}"] if minimum else []
    cap = provider_cap(airflow_version) if airflow_version else None
    if cap:
        parts.append(f"<={cap}")
    return PROVIDER + ",".join(parts)


def provider_fit(
    airflow: Version | None, provider: Version | None, python: Version | None = None
) -> list[Finding]:
    """Whether ``provider`` installs on ``airflow`` and ``python`` (AKV-VER-001 / -002)."""
    findings: list[Finding] = []
    if provider is not None and airflow is not None:
        base = Version(airflow.base_version)
        floor = airflow_floor(provider)
        cap = provider_cap(base)
        if (floor is not None and base < floor) or (cap is not None and provider > Version(cap)):
            advice = f"; Airflow {airflow} can use provider {cap} at most" if cap else ""
            findings.append(
                PROVIDER_NEEDS_AIRFLOW(
                    "provider_version",
                    f"provider {provider} needs Airflow >= {floor}, not {airflow}{advice}.",
                    airflow=str(airflow),
                    provider=str(provider),
                    minimum=str(floor),
                    cap=cap,
                )
            )
    if provider is not None and python is not None:
        for first, minimum in PROVIDER_MIN_PYTHON.items():
            if provider >= Version(first) and python < Version(minimum):
                findings.append(
                    PROVIDER_NEEDS_PYTHON(
                        "python_version",
                        f"provider {provider} needs Python >= {minimum}, not {python}.",
                    )
                )
                break
    return findings


def lint_versions(
    airflow_version: str | None,
    provider_version: str | None,
    python_version: str | None = None,
) -> list[Finding]:
    """Airflow / provider / Python compatibility for the Key Vault backend."""
    findings: list[Finding] = []
    airflow, found = parse_version(airflow_version, "airflow_version")
    findings += found
    provider, found = parse_version(provider_version, "provider_version")
    findings += found
    python, found = parse_version(python_version, "python_version")
    findings += found
    findings += provider_fit(airflow, provider, python)
    if airflow is not None and Version("3.0.0") <= Version(airflow.base_version) < REAUTH_FIXED:
        findings.append(
            REAUTH_PER_LOOKUP(
                "airflow_version", f"Airflow {airflow} builds a new credential per lookup."
            )
        )
    if provider is not None and provider < NAME_CHECK_SINCE:
        findings.append(
            PROVIDER_SENDS_INVALID_NAMES(
                "provider_version", f"provider {provider} does not skip invalid names."
            )
        )
    return findings
