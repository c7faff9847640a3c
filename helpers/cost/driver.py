"""The measuring process: real Airflow parses DAG files and runs sample tasks, here.

``python -m helpers.cost.driver REQUEST.json`` runs in a scratch AIRFLOW_HOME whose
environment (set by :mod:`helpers.cost.measure`) points the Key Vault backend at the sandbox.
Between steps it asks the sandbox's request log (``SandboxClient.mark`` / ``requests``) what
the step cost, and writes every step's raw records to the request's ``result`` file; the
counting happens in :mod:`helpers.cost.report`.

Parsing is the DAG processor's own: ``DagFileProcessorProcess`` forks a parsing child per
file exactly as ``airflow dag-processor`` does, with the manager's in-process Execution API
answering the child's variable and connection requests (the API-server fallback) and
``SecretCache.init()`` called first, as the manager does, so ``[secrets] use_cache`` behaves as
in a deployment. A sample task runs as ``airflow dags test`` runs it (``DAG.test`` with every
other task marked success); the memoised backends are dropped first
(``clear_secrets_backends_cache``), as a worker starts each task in a new process.
"""

from __future__ import annotations

import argparse
import json
import selectors
import signal
import sys
import time
from pathlib import Path
from typing import Any

from helpers.common.textio import printable
from helpers.sandbox.runtime import SandboxClient

__all__ = [
    "PLACEHOLDERS",
    "choose_samples",
    "main",
]

# What a secret the DAGs ask for and the sandbox lacks is seeded with: a value that JSON,
# int() and str operations all accept, and a connection any hook can be built from.
PLACEHOLDERS = {
    "variables": "1",
    "json": "{}",  # a variable read with deserialize_json=True: iterable, .get() works
    "connections": json.dumps({"conn_type": "generic", "host": "cost.example.invalid"}),
}
DISCOVERY_ROUNDS = 10  # a parse stops at the first missing secret without a default


class _Timeout(Exception):
    pass


def _last_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return printable(lines[-1][:limit]) if lines else ""


class _Driver:
    def __init__(self, request: dict[str, Any]):
        self.request = request
        self.sandbox = SandboxClient(int(request["sandbox"]["port"]), request["sandbox"]["token"])
        self.folder = Path(request["bundle_path"])
        self.log_file = Path(request["log"])

    def _step(self) -> None:
        """One more file parsed or task run: a line in the progress file the parent follows."""
        if self.request.get("progress"):
            with open(self.request["progress"], "a") as handle:
                handle.write("1\n")

    # -- the request log ---------------------------------------------------------------
    def _between(self, mark: int) -> list[dict[str, Any]]:
        page = self.sandbox.requests(mark)
        if page["dropped"]:
            self.dropped += page["dropped"]
        return [
            {k: r[k] for k in ("service", "operation", "status", "name")} for r in page["records"]
        ]

    # -- parsing ------------------------------------------------------------------------
    def parse_all(self) -> list[dict[str, Any]]:
        # Heavy: Airflow is imported only in this measuring process.
        import structlog
        from airflow.dag_processing.manager import _make_execution_api
        from airflow.sdk.api.client import Client
        from airflow.sdk.execution_time.cache import SecretCache
        from airflow.sdk.log import logging_processors

        SecretCache.init()  # as DagFileProcessorManager._run_parsing_loop does, before forking
        api = _make_execution_api()
        self.client = Client(base_url=None, token="", dry_run=True, transport=api.transport)
        self.client.base_url = "http://in-process.invalid./"
        self.selector = selectors.DefaultSelector()
        self.log_handle = self.log_file.open("ab")
        self.logger = structlog.wrap_logger(
            structlog.BytesLogger(self.log_handle),
            processors=logging_processors(json_output=True),
            logger_name="processor",
        ).bind()
        files = []
        for rel in self.request["files"]:
            entry: dict[str, Any] = {"file": rel, "parses": [], "seeded": [], "dags": {}}
            if self.request.get("discover"):
                entry["parses"] = self._discover(rel, entry["seeded"])
            while len(entry["parses"]) < int(self.request.get("repeats", 2)):
                entry["parses"].append(self._parse(rel))
            for parse in entry["parses"]:
                entry["dags"] = parse.pop("dags", None) or entry["dags"]
            files.append(entry)
            self._step()
        return files

    def _discover(self, rel: str, seeded: list[str]) -> list[dict[str, Any]]:
        """Parse until no new secret is missing (a parse stops at the first missing variable
        without a default), seeding each; with the cache off, so that the measured parses
        start cold. A first round that seeded nothing, with no cache configured, was a
        measured parse like any other: it is kept as the first."""
        from airflow.sdk.execution_time.cache import SecretCache

        cached = SecretCache._cache is not None
        SecretCache.reset()
        kept: list[dict[str, Any]] = []
        for round_ in range(DISCOVERY_ROUNDS):
            parse = self._parse(rel)
            new = self._seed(parse["records"])
            seeded += new
            if not new:
                kept = [parse] if round_ == 0 and not cached else []
                break
        if cached:
            SecretCache.init()  # a fresh, empty cache: the next parse is cold
        return kept

    def _parse(self, rel: str) -> dict[str, Any]:
        from airflow.dag_processing.processor import DagFileProcessorProcess
        from uuid6 import uuid7

        mark = self.sandbox.mark()
        started = time.perf_counter()
        proc = DagFileProcessorProcess.start(
            id=uuid7(),
            path=str(self.folder / rel),
            bundle_path=self.folder,
            bundle_name="dags-folder",
            dag_file_rel_path=rel,
            callbacks=[],
            selector=self.selector,
            logger=self.logger,
            logger_filehandle=self.log_handle,
            client=self.client,
        )
        timeout = float(self.request.get("timeout", 120))
        error = ""
        while not proc.is_ready:
            if time.perf_counter() - started > timeout:
                proc.kill(signal.SIGKILL)
                error = f"the parse did not finish within {timeout:g} s"
                break
            for key, _ in self.selector.select(timeout=0.1):
                handler, on_close = key.data
                try:
                    more = handler(key.fileobj)
                except (BrokenPipeError, ConnectionResetError):
                    more = False
                if not more:
                    on_close(key.fileobj)
                    key.fileobj.close()
        seconds = time.perf_counter() - started
        result = proc.parsing_result
        dags: dict[str, list[str]] = {}
        if result is not None:
            for serialized in result.serialized_dags:
                dag = serialized.data.get("dag", {})
                tasks = [t.get("__var", t).get("task_id") for t in dag.get("tasks", [])]
                dags[serialized.dag_id] = [t for t in tasks if t]
            if result.import_errors:
                error = _last_line(next(iter(result.import_errors.values())))
        elif not error:
            error = "the parsing process ended without a result (see the measurement log)"
        return {
            "seconds": round(seconds, 3),
            "error": error,
            "dags": dags,
            "records": self._between(mark),
        }

    def _seed(self, records: list[dict[str, Any]]) -> list[str]:
        """Seed every secret a parse asked for and did not find, under the backend's prefixes."""
        prefixes = self.request.get("prefixes") or {}
        sep = prefixes.get("sep") or "-"
        missing = sorted(
            {r["name"] for r in records if r["operation"] == "get_secret" and r["status"] == 404}
        )
        values: dict[str, str] = {}
        for name in missing:
            for kind in ("variables", "connections"):
                value = PLACEHOLDERS[kind]
                prefix = prefixes.get(kind)
                # As the provider builds names: trailing sep dropped, every "_" becomes sep.
                stem = (prefix or "").rstrip(sep).replace("_", sep).lower()
                if prefix is not None and (not stem or name.lower().startswith(stem + sep)):
                    values[name] = value
                    break
        if values:
            self.sandbox.seed(values)
        return sorted(values)

    # -- sample tasks -------------------------------------------------------------------
    def run_tasks(self, samples: list[dict[str, str]]) -> list[dict[str, Any]]:
        """Each sample task as ``airflow tasks test`` runs it, with the DAG this process
        parsed from the task's own file (``tasks test`` itself would re-parse every file of
        the bundle, and ``dags test`` re-syncs the whole bundle: neither is a worker's cost).
        """
        # Heavy: Airflow is imported only in this measuring process.
        from airflow.cli.commands.task_command import task_test
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
        from airflow.sdk.configuration import clear_secrets_backends_cache
        from airflow.sdk.execution_time.cache import SecretCache

        SecretCache.reset()  # a worker never sets up the cache: only the DAG processor does
        manager = DagBundlesManager()
        manager.sync_bundles_to_db()
        bundle = manager.get_bundle("dags-folder")
        bundle.initialize()
        out = []
        timeout = max(1, int(float(self.request.get("task_timeout", 300))))
        for sample in samples:
            entry: dict[str, Any] = dict(sample)
            bag = BundleDagBag(
                dag_folder=str(self.folder / sample["file"]),
                bundle_path=bundle.path,
                bundle_name=bundle.name,
            )
            dag = bag.dags.get(sample["dag_id"])
            if dag is None or sample["task_id"] not in dag.task_ids:
                entry.update(state="not parsed", records=[], seconds=0.0)
                out.append(entry)
                self._step()
                continue
            sync_bag_to_db(bag, bundle.name, bundle.version)
            clear_secrets_backends_cache()  # a worker runs each task in a new process
            args = argparse.Namespace(
                dag_id=sample["dag_id"],
                task_id=sample["task_id"],
                logical_date_or_run_id=None,
                map_index=-1,
                env_vars=None,
                task_params=None,
                post_mortem=False,
                bundle_name=[bundle.name],
            )
            mark = self.sandbox.mark()
            started = time.perf_counter()
            previous = signal.signal(signal.SIGALRM, _raise_timeout)
            signal.alarm(timeout)
            try:
                task_test(args, dag=dag)
                # tasks test deletes the run it made: success or failure is only in its log
                # (a failing task's lookups up to the failure are counted all the same).
                entry["state"] = "ran"
            except _Timeout:
                entry["state"] = "timeout"
            except (Exception, SystemExit) as err:  # noqa: BLE001 - the user's task: counted
                entry["state"] = f"failed: {_last_line(f'{type(err).__name__}: {err}')}"
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)
            entry["seconds"] = round(time.perf_counter() - started, 3)
            entry["records"] = self._between(mark)
            out.append(entry)
            self._step()
        return out

    def run(self) -> dict[str, Any]:
        self.dropped = 0
        files = self.parse_all()
        samples = self.request.get("tasks")
        if samples is None:
            samples = choose_samples(files, int(self.request.get("task_samples", 1)))
        tasks = self.run_tasks(samples) if samples else []
        return {"files": files, "tasks": tasks, "dropped": self.dropped}


def _raise_timeout(signum: int, frame: Any) -> None:
    raise _Timeout


def choose_samples(files: list[dict[str, Any]], count: int) -> list[dict[str, str]]:
    """The first task of the first DAG of the ``count`` files whose parses read the vault
    most (then by name): where a task's cost on the worker matters most."""

    def reads(entry: dict[str, Any]) -> int:
        parses = entry["parses"]
        return sum(
            1 for r in (parses[0]["records"] if parses else []) if r["operation"] == "get_secret"
        )

    ranked = sorted((f for f in files if f["dags"]), key=lambda f: (-reads(f), f["file"]))
    samples = []
    for entry in ranked[: max(0, count)]:
        dag_id = sorted(entry["dags"])[0]
        if entry["dags"][dag_id]:
            samples.append(
                {"file": entry["file"], "dag_id": dag_id, "task_id": entry["dags"][dag_id][0]}
            )
    return samples


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    request = json.loads(Path(args[0]).read_text())
    result = _Driver(request).run()
    Path(request["result"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
