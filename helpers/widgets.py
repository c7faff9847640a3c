"""Forms for the runbook notebooks (ipywidgets 8). UI only.

Every button calls the same :mod:`helpers.runbook` function the headless cells call and shows
what it returns (a report, or anything with ``_repr_html_``) in the form's ``output`` widget:

- :func:`settings_form` — vault URL, tenant id, client id, the NAME of the client-secret
  variable and a Password field; **Check** runs :func:`helpers.runbook.check_form`;
- :func:`permissions_form` — **Diagnose** (permission model, a probe, the diagnosis, the
  grant in every form, least privilege) and **Grant** (perform it, re-probe until in effect);
- :func:`config_form` — **Render** the overrides for a target, **Lint** a pasted config;
- :func:`names_form` — your variable and connection ids as the secret names the backend reads.

Text fields validate as they are committed (``continuous_update=False`` + ``observe``) with a
``Valid`` indicator and a message; a value that looks like a client secret is removed from any
text field at once. The Password's value is moved into ``os.environ[<secret variable>]`` of
this kernel and the field is cleared before anything else runs, so the secret never sits in
widget state, an output, a log or an exception message.

In a kernel, results reach ``output`` through ``Output.capture(clear_output=True)``; without
one (unit tests, plain Python) they are appended to ``output.outputs`` directly, so a test can
set ``.value``, call ``.click()`` and read them.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

import IPython.display  # ipywidgets depends on IPython, so it is always there
import ipywidgets as widgets
from IPython import get_ipython

from helpers import runbook
from helpers.common.redact import fingerprint
from helpers.findings import Finding, Report, Severity, has_errors
from helpers.settings import (
    ENV_NAME_RE,
    Settings,
    Target,
    check_env_var_name,
    looks_like_secret,
)
from helpers.settings.fields import field_check, field_spec

__all__ = [
    "ConfigForm",
    "Form",
    "NamesForm",
    "PermissionsForm",
    "SettingsForm",
    "config_form",
    "names_form",
    "permissions_form",
    "settings_form",
]

DEFAULT_SECRET_ENV = Settings.client_secret_env
# Finding codes that mean "the pasted configuration holds a client secret".
SECRET_IN_CONFIG_CODES = frozenset({"AKV-CFG-009", "AKV-CFG-022"})
_LABEL = {"description_width": "10em"}
# Variables that hold client secrets in this kernel: their values are scrubbed from errors.

Action = Callable[[], Any]
SettingsSource: TypeAlias = "Settings | Mapping[str, Any] | SettingsForm | None"


def _wide() -> widgets.Layout:
    return widgets.Layout(width="40em")


# -- showing results -------------------------------------------------------------------------
class _Note:
    """A one-paragraph message in a form's output."""

    def __init__(self, text: str, severity: Severity = Severity.INFO):
        self.text = text
        self.severity = severity

    def _repr_html_(self) -> str:
        colour = {"error": "#b71c1c", "warning": "#8a5300"}.get(self.severity.value, "inherit")
        return f'<p style="color:{colour}">{html.escape(self.text)}</p>'

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def _bundle(obj: Any) -> dict[str, Any]:
    """A display_data output as the frontend would record it (text/plain, text/html)."""
    data = {"text/plain": str(obj)}
    render = getattr(obj, "_repr_html_", None)
    if callable(render):
        data["text/html"] = render()
    return {"output_type": "display_data", "data": data, "metadata": {}}


def _in_kernel() -> bool:
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _message_html(findings: Iterable[Finding]) -> str:
    marks = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "i", Severity.OK: "✓"}
    lines = [
        f"{marks[f.severity]} <code>{html.escape(f.code)}</code> {html.escape(f.title)}"
        + (f": {html.escape(f.detail)}" if f.detail else "")
        for f in findings
    ]
    return '<div class="akv-field-message">' + "<br>".join(lines) + "</div>" if lines else ""


# -- a validated text field ------------------------------------------------------------------
Check = Callable[[str], list[Finding]]


class _Field:
    """A Text, a Valid indicator and a message, validated each time the value is committed."""

    def __init__(
        self,
        description: str,
        value: str,
        check: Check,
        *,
        tooltip: str,
        placeholder: str = "",
        reset_to: str = "",
    ):
        self.check = check
        self.reset_to = reset_to
        self.text = widgets.Text(
            value=value,
            description=description,
            placeholder=placeholder,
            tooltip=tooltip,
            continuous_update=False,
            layout=_wide(),
            style=_LABEL,
        )
        self.valid = widgets.Valid(value=True, readout="")
        self.message = widgets.HTML("")
        self.box = widgets.VBox([widgets.HBox([self.text, self.valid]), self.message])
        self.text.observe(self._changed, names="value")
        self.validate()

    @property
    def value(self) -> str:
        return self.text.value.strip()

    def _changed(self, change: dict[str, Any]) -> None:
        new = change["new"]
        if isinstance(new, str) and looks_like_secret(new):
            self.text.value = self.reset_to  # re-validates the reset value
            self.valid.value = False
            self.valid.readout = "removed"
            self.message.value = (
                '<div class="akv-field-message">✗ That looked like a secret value '
                f"({html.escape(fingerprint(new))}), so it was removed from this field. Paste "
                "the client secret only into the Password field.</div>"
            )
            return
        self.validate()

    def validate(self) -> list[Finding]:
        findings = self.check(self.text.value) if self.text.value.strip() else []
        errors = [f for f in findings if f.severity is Severity.ERROR]
        self.valid.value = not errors
        self.valid.readout = errors[0].code if errors else ""
        self.message.value = _message_html(findings)
        return findings


def _setting_field(name: str, value: str, *, reset_to: str = "") -> _Field:
    """The _Field of Settings field ``name``: label, placeholder, tooltip and check from the
    field table (:data:`helpers.settings.schema.FIELD_SPECS`)."""
    spec = field_spec(name)
    check = field_check(name)
    return _Field(
        spec.label,
        value,
        lambda text: check(text)[1],
        tooltip=spec.help,
        placeholder=spec.placeholder,
        reset_to=reset_to,
    )


# -- the common form ---------------------------------------------------------------------------
class Form(widgets.VBox):
    """The base of every form (also helpers.widgets_class): children, then the buttons' output.
    ``run`` guards every action."""

    title = "Form"

    def __init__(self, children: list[widgets.Widget], **kwargs: Any):
        self.output = widgets.Output(layout=widgets.Layout(width="100%"))
        super().__init__([*children, self.output], **kwargs)

    def run(self, button: widgets.Button | None, action: Action, busy: str = "") -> None:
        """Clear the output, run ``action`` and show what it returns; never raises."""
        if _in_kernel():
            self.output.capture(clear_output=True, wait=True)(self._perform)(button, action, busy)
        else:
            self.output.outputs = ()
            self._perform(button, action, busy)

    def _perform(self, button: widgets.Button | None, action: Action, busy: str) -> None:
        label = button.description if button is not None else ""
        if button is not None:
            button.disabled = True
            button.description = busy or label
        try:
            result = action()
        except Exception as err:  # noqa: BLE001 - a form reports, it never raises
            result = Report(self.title, [runbook.unexpected(self.title, err)])
        finally:
            if button is not None:
                button.disabled = False
                button.description = label
        for item in result if isinstance(result, list | tuple) else [result]:
            self.show(item)

    def show(self, obj: Any) -> None:
        if obj is None:
            return
        if _in_kernel():
            IPython.display.display(obj)
        else:
            self.output.outputs = (*self.output.outputs, _bundle(obj))


def _button(description: str, tooltip: str, icon: str, style: str = "") -> widgets.Button:
    return widgets.Button(description=description, tooltip=tooltip, icon=icon, button_style=style)


def _resolve(source: SettingsSource) -> tuple[Settings, list[Finding]]:
    """Settings from a Settings object, notebook parameters or a settings form."""
    if isinstance(source, Settings):
        return source, []
    if isinstance(source, SettingsForm):
        return runbook.settings_from_params(**source.values)
    return runbook.settings_from_params(**_environment_defaults(source))


def _environment_defaults(defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    """``defaults`` without any secret value, completed from AZURE_* of this kernel."""
    values = {k: v for k, v in dict(defaults or {}).items() if k != "client_secret"}
    for key, var in (
        ("vault_url", "AZURE_KEYVAULT_URL"),
        ("tenant_id", "AZURE_TENANT_ID"),
        ("client_id", "AZURE_CLIENT_ID"),
    ):
        if not values.get(key) and os.environ.get(var):
            values[key] = os.environ[var]
    values.setdefault("client_secret_env", DEFAULT_SECRET_ENV)
    return values


# -- 00: settings ------------------------------------------------------------------------------
class SettingsForm(Form):
    """Vault URL, tenant, client id, the secret's variable NAME, a Password, Check, output."""

    title = "Check"
    FIELDS = ("vault_url", "tenant_id", "client_id", "client_secret_env")

    def __init__(
        self,
        defaults: Mapping[str, Any] | None = None,
        *,
        on_check: Callable[[dict[str, Any]], Any] = runbook.check_form,
    ):
        values = _environment_defaults(defaults)
        self._extra = {k: v for k, v in values.items() if k not in self.FIELDS}
        self.on_check = on_check
        default_env = str(values.get("client_secret_env") or DEFAULT_SECRET_ENV)
        values["client_secret_env"] = default_env
        # What a field falls back to when a secret is pasted into it.
        reset_to = {
            "client_secret_env": DEFAULT_SECRET_ENV
            if looks_like_secret(default_env)
            else default_env
        }
        self.rows = {
            name: _setting_field(name, str(values.get(name) or ""), reset_to=reset_to.get(name, ""))
            for name in self.FIELDS
        }
        self.vault_url, self.tenant_id, self.client_id, self.secret_env = self.rows.values()
        self.password = widgets.Password(
            value="",
            description="Client secret",
            placeholder=self._password_placeholder(),
            tooltip="The client secret's VALUE (not its Secret ID). On Check it is moved into "
            "the variable named above, in this kernel only, and this field is cleared.",
            continuous_update=False,
            layout=_wide(),
            style=_LABEL,
        )
        self.check_button = _button(
            "Check",
            "Validate the settings, sign in and read the first variable",
            "check",
            "primary",
        )
        self.check_button.on_click(self._on_check)
        self.secret_env.text.observe(self._refresh_placeholder, names="value")
        super().__init__(
            [*(row.box for row in self.rows.values()), self.password, self.check_button]
        )

    @property
    def values(self) -> dict[str, Any]:
        """What Check passes on: the fields plus the other defaults; never a secret value."""
        return {**self._extra, **{name: row.value for name, row in self.rows.items()}}

    def check(self) -> None:
        """What the Check button does (for code: ``form.check()``)."""
        self._on_check(self.check_button)

    def _on_check(self, button: widgets.Button) -> None:
        stored = self._store_secret()  # first: the field is empty before any probe runs
        self.run(button, lambda: [*stored, self.on_check(self.values)], busy="Checking…")

    def _store_secret(self) -> list[_Note]:
        """Move the Password's value into os.environ[<secret variable>]; always clears it."""
        typed = self.password.value
        self.password.value = ""
        if not typed:
            return []
        name, problems = check_env_var_name(self.secret_env.value, "client_secret_env")
        if has_errors(problems) or not ENV_NAME_RE.match(name):
            return [
                _Note(
                    "The client secret was NOT stored: fix the secret variable's name, then "
                    "type the secret again.",
                    Severity.ERROR,
                )
            ]
        os.environ[name] = typed
        runbook.remember_secret_env(name)
        self._refresh_placeholder()
        return [
            _Note(f"The client secret is in ${name} of this kernel only; the field was cleared.")
        ]

    def _password_placeholder(self) -> str:
        name = self.secret_env.value
        if ENV_NAME_RE.match(name) and os.environ.get(name):
            return f"${name} is set (type to replace it)"
        return "the client secret's VALUE (not its Secret ID)"

    def _refresh_placeholder(self, _change: Any = None) -> None:
        self.password.placeholder = self._password_placeholder()


def settings_form(
    defaults: Mapping[str, Any] | None = None,
    *,
    on_check: Callable[[dict[str, Any]], Any] = runbook.check_form,
) -> SettingsForm:
    """The settings form of 00_start_here. ``defaults``: notebook parameters (vault_url,
    tenant_id, client_id, client_secret_env, variables, ...); missing ones come from AZURE_*
    of this kernel. ``on_check(values)`` runs on Check (default :func:`runbook.check_form`)."""
    return SettingsForm(defaults, on_check=on_check)


# -- 02: permissions -----------------------------------------------------------------------------
class PermissionsForm(Form):
    """Diagnose the backend's read access; grant the least-privilege role and wait for it."""

    title = "Permissions"

    def __init__(
        self,
        settings: SettingsSource = None,
        *,
        conn: runbook.Connection | None = None,
        timeout: int = 60,
        permissions: Callable[[runbook.Connection, Settings], Any] = runbook.permissions,
    ):
        self.settings_source = settings
        self.conn = conn
        self.permissions = permissions
        self.steps: Any = None
        self.wait = widgets.BoundedIntText(
            value=timeout,
            min=0,
            max=600,
            description="Wait up to (s)",
            tooltip="How long Grant re-probes until the new access takes effect (role "
            "assignments can take minutes to propagate).",
            style=_LABEL,
        )
        self.diagnose_button = _button(
            "Diagnose",
            "Find the vault's permission model, probe a read, explain what is missing and "
            "show the grant as az CLI, PowerShell, Bicep and Terraform",
            "stethoscope",
            "primary",
        )
        self.grant_button = _button(
            "Grant",
            "Grant Key Vault Secrets User (or secret get/list on an access-policy vault) to the "
            "backend's service principal at the vault's scope, then re-probe",
            "key",
            "warning",
        )
        self.diagnose_button.on_click(self._on_diagnose)
        self.grant_button.on_click(self._on_grant)
        intro = widgets.HTML(
            "<p>Grants are made at the vault's scope with the least privilege the backend "
            "needs: <b>Key Vault Secrets User</b> reads secrets; Contributor is not needed.</p>"
        )
        super().__init__(
            [intro, self.wait, widgets.HBox([self.diagnose_button, self.grant_button])]
        )

    def _new_steps(self) -> Any:
        settings, problems = _resolve(self.settings_source)
        if self.conn is None:
            self.conn = runbook.connect()
        self.steps = self.permissions(self.conn, settings)
        return problems

    def _on_diagnose(self, button: widgets.Button) -> None:
        def diagnose() -> list[Any]:
            problems = self._new_steps()
            s = self.steps
            found = [Report("Settings", problems)] if problems else []
            return [
                *found,
                s.detect_model(),
                s.probe_read(),
                s.diagnose(),
                s.grant_commands(),
                s.least_privilege(),
            ]

        self.run(button, diagnose, busy="Diagnosing…")

    def _on_grant(self, button: widgets.Button) -> None:
        def grant() -> list[Any]:
            self._new_steps()
            done = self.steps.grant(perform=True)
            return [done, self.steps.wait_for_access(timeout=self.wait.value)]

        self.run(button, grant, busy="Granting…")


def permissions_form(
    settings: SettingsSource = None,
    *,
    conn: runbook.Connection | None = None,
    timeout: int = 60,
) -> PermissionsForm:
    """The permissions form of 02. ``settings``: a Settings, notebook parameters, or a
    :class:`SettingsForm` (read at each click); ``conn`` defaults to ``runbook.connect()``."""
    return PermissionsForm(settings, conn=conn, timeout=timeout)


# -- 03: configuration -----------------------------------------------------------------------------
class ConfigForm(Form):
    """Render the overrides for a target; lint an existing configuration pasted below."""

    title = "Configuration"

    def __init__(
        self,
        settings: SettingsSource = None,
        *,
        target: str | None = None,
        on_render: Callable[..., Any] = runbook.render_config,
        on_lint: Callable[..., Any] = runbook.lint_config,
    ):
        self.settings_source = settings
        self.on_render = on_render
        self.on_lint = on_lint
        if target is None and isinstance(settings, Settings):
            target = settings.target
        elif target is None and isinstance(settings, Mapping):
            target = settings.get("target")
        chosen = target if target in {t.value for t in Target} else Target.ENV
        spec = field_spec("target")
        self.target = widgets.Dropdown(
            options=list(spec.choices),
            value=Target(chosen).value,
            description=spec.label,
            tooltip=spec.help,
            style=_LABEL,
        )
        self.existing = widgets.Textarea(
            value="",
            placeholder="Paste an existing configuration (backend_kwargs JSON, airflow.cfg, "
            "Helm values, compose, KEY=value lines, an ADF/Fabric export) — or leave empty "
            "to lint the rendered one.",
            description="Existing",
            tooltip="Linted in this kernel; cleared again if it holds a client secret.",
            continuous_update=False,
            layout=widgets.Layout(width="60em", height="10em"),
            style=_LABEL,
        )
        self.render_button = _button(
            "Render",
            "Show the overrides for the chosen target, ready to copy",
            "file-code-o",
            "primary",
        )
        self.lint_button = _button(
            "Lint", "Lint the pasted configuration (or the rendered one)", "search"
        )
        self.render_button.on_click(self._on_render)
        self.lint_button.on_click(self._on_lint)
        super().__init__(
            [self.target, self.existing, widgets.HBox([self.render_button, self.lint_button])]
        )

    def _on_render(self, button: widgets.Button) -> None:
        def render() -> Any:
            settings, _ = _resolve(self.settings_source)
            return self.on_render(settings, self.target.value)

        self.run(button, render, busy="Rendering…")

    def _on_lint(self, button: widgets.Button) -> None:
        def lint() -> list[Any]:
            settings, _ = _resolve(self.settings_source)
            result = self.on_lint(self.existing.value, settings, self.target.value)
            found = {f.code for f in getattr(result, "findings", [])}
            if not found & SECRET_IN_CONFIG_CODES:
                return [result]
            self.existing.value = ""
            note = _Note(
                "The pasted configuration held a client secret: it was cleared from the form. "
                "Rotate that secret if the text was shared anywhere.",
                Severity.WARNING,
            )
            return [result, note]

        self.run(button, lint, busy="Linting…")


def config_form(
    settings: SettingsSource = None,
    *,
    target: str | None = None,
) -> ConfigForm:
    """The configuration form of 03: render overrides for a target, lint a pasted config."""
    return ConfigForm(settings, target=target)


# -- 03: names ---------------------------------------------------------------------------------
class NamesForm(Form):
    """Your variable and connection ids, mapped live to the secret names the backend reads."""

    title = "Naming rule"
    FIELDS = ("variables", "connections", "variables_prefix", "connections_prefix", "sep")
    NAME_FIELDS = frozenset(FIELDS)
    # One Text per Settings field in FIELDS, labelled from the field table:
    variables: widgets.Text
    connections: widgets.Text
    variables_prefix: widgets.Text
    connections_prefix: widgets.Text
    sep: widgets.Text

    def __init__(
        self,
        settings: SettingsSource = None,
        *,
        on_show: Callable[[Settings], Any] = runbook.naming_rule,
    ):
        self.settings_source = settings
        self.on_show = on_show
        base, _ = _resolve(settings)

        for name in self.FIELDS:
            spec = field_spec(name)
            box = widgets.Text(
                value=_as_text(getattr(base, name)),
                description=spec.label,
                tooltip=spec.help,
                continuous_update=False,
                layout=_wide(),
                style=_LABEL,
            )
            if spec.placeholder:  # else ipywidgets' own (a zero-width space)
                box.placeholder = spec.placeholder
            box.observe(lambda _change: self.run(None, self._show_names), names="value")
            setattr(self, name, box)
        self.show_button = _button(
            "Show names", "Map the ids to the Key Vault secret names", "exchange", "primary"
        )
        self.show_button.on_click(lambda b: self.run(b, self._show_names))
        super().__init__([*(getattr(self, name) for name in self.FIELDS), self.show_button])

    def _show_names(self) -> Any:
        base, _ = _resolve(self.settings_source)
        settings, problems = runbook.settings_from_params(
            vault_url=base.vault_url,
            **{name: getattr(self, name).value for name in self.FIELDS},
        )
        result = self.on_show(settings)
        shown = {(f.code, f.subject) for f in getattr(result, "findings", [])}
        extra = [
            f
            for f in problems
            if f.subject in self.NAME_FIELDS and (f.code, f.subject) not in shown
        ]
        return [Report("Settings", extra), result] if extra else result


def _as_text(value: Any) -> str:
    """A Settings value as a text field shows it: ids comma-separated, None empty."""
    if isinstance(value, list | tuple):
        return ", ".join(value)
    return "" if value is None else str(value)


def names_form(settings: SettingsSource = None) -> NamesForm:
    """The naming-rule form of 03: ids in, secret names out (live)."""
    return NamesForm(settings)
