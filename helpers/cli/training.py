"""`akv-runbook class …`: a training class (docs/training.md).

``class start`` runs the class's sandbox in the foreground; every other command works from
the class's state directory: it reads class.json and talks to the running sandbox through
its proxy and control API (address and token in ``<state-dir>/sandbox/``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from helpers import sandbox as sb
from helpers.cli.argtypes import _path, _port
from helpers.cli.output import print_json
from helpers.common.logs import quiet_sdk_logs
from helpers.common.textio import InputError
from helpers.training import (
    CLASS_STATE_VAR,
    DEFAULT_HOST,
    TRAINEE_VAR,
    ClassError,
    Classroom,
    ExerciseError,
    create_app,
    create_class,
    default_class_dir,
    is_loopback,
    start_dashboard,
)

__all__ = [
    "add_class_commands",
    "cmd_class_check",
    "cmd_class_env",
    "cmd_class_reset",
    "cmd_class_solve",
    "cmd_class_start",
    "cmd_class_status",
]

SYMBOLS = {"not-started": "·", "in-progress": "✗", "passed": "✓", "skipped": "s"}


def _dir(args: argparse.Namespace) -> Path:
    return Path(args.state_dir) if args.state_dir else default_class_dir()


def _room(args: argparse.Namespace) -> Classroom:
    return Classroom(_dir(args))


def _fail(err: Exception, code: int = 1) -> int:
    print(f"akv-runbook: {err}", file=sys.stderr)
    return code


def _wait_for_stop() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1):
        pass


def cmd_class_start(args: argparse.Namespace) -> int:
    state_dir = _dir(args)
    exercises = (
        [e.strip() for e in args.exercises.split(",") if e.strip()] if args.exercises else None
    )
    try:
        room = create_class(
            state_dir,
            trainees=args.trainees,
            exercises=exercises,
            scenario=Path(args.scenario) if args.scenario else None,
        )
        scenario = sb.load_scenario(room.scenario_path)
    except (ClassError, ExerciseError, InputError, sb.ScenarioError, ValueError, OSError) as err:
        return _fail(err, 2)
    quiet_sdk_logs()
    try:
        sandbox = sb.Sandbox(scenario=scenario, state_dir=room.sandbox_dir, port=args.port).start()
    except OSError as err:
        return _fail(f"cannot start the class's sandbox on port {args.port}: {err.strerror}")
    try:
        app = create_app(
            status_source=room.status, reset=room.reset, token=room.token_path.read_text().strip()
        )
        dashboard = start_dashboard(app, host=args.host, port=args.dashboard_port)
    except (OSError, ValueError) as err:
        sandbox.stop()
        return _fail(f"cannot start the dashboard on {args.host}:{args.dashboard_port}: {err}")
    if not is_loopback(args.host):
        print(
            f"warning: the dashboard listens on {args.host}, beyond this machine, over plain "
            "HTTP: anyone on that network who sees the token can read and reset the class",
            file=sys.stderr,
        )
    try:
        fresh = room.set_up()
        flag = f" --state-dir {shlex.quote(str(state_dir))}" if args.state_dir else ""
        print(
            f"class of {len(room.trainees)} trainees, {len(room.exercises)} exercises "
            f"({', '.join(room.exercises)}); {'set up' if fresh else 'progress kept'}"
        )
        print(f"sandbox listening on 127.0.0.1:{sandbox.port}; state dir {state_dir}")
        print(
            f"dashboard:         {dashboard.url}?token=$(cat {shlex.quote(str(room.token_path))})"
        )
        print(f"facilitator token: {room.token_path}  (keep it private)")
        print(f"progress:          akv-runbook class status{flag}")
        print(f'trainees join:     eval "$(akv-runbook class env --trainee trainee-07{flag})"')
        print("then:              akv-runbook class check --exercise kv-contributor")
        print("Ctrl-C to stop (progress stays in the state dir)", flush=True)
        _wait_for_stop()
    finally:
        dashboard.stop()
        sandbox.stop()
    return 0


def cmd_class_env(args: argparse.Namespace) -> int:
    try:
        env = _room(args).environment(args.trainee, args.credential)
    except (ClassError, sb.SandboxNotRunning, RuntimeError) as err:
        return _fail(err)
    if args.json:
        print_json(json.dumps(env, indent=2))
        return 0
    stale = [key for key in sb.CREDENTIAL_VARS if key not in env]
    print(f"unset {' '.join(stale)}")
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _target(args: argparse.Namespace) -> tuple[Classroom, str, str] | int:
    try:
        room = _room(args)
    except ClassError as err:
        return _fail(err)
    if args.trainee not in room.trainees:
        return _fail(f"no trainee {args.trainee!r} in this class (--trainee or ${TRAINEE_VAR})", 2)
    if args.exercise not in room.exercises:
        return _fail(
            f"no exercise {args.exercise!r} (this class has: {', '.join(room.exercises)})", 2
        )
    return room, args.trainee, args.exercise


def cmd_class_check(args: argparse.Namespace) -> int:
    target = _target(args)
    if isinstance(target, int):
        return target
    room, trainee, exercise = target
    quiet_sdk_logs()
    result = room.check(trainee, exercise)
    if args.json:
        print_json(
            json.dumps({"trainee": trainee, "exercise": exercise, **result.to_dict()}, indent=2)
        )
        return 0 if result.passed else 1
    title = room.exercise(exercise).title
    print(f"{'PASS' if result.passed else 'FAIL'}  {exercise}: {title}")
    for finding in result.findings:
        print(f"  {finding.code} {finding.title}: {finding.detail}")
    if result.hint:
        label = "solution" if result.hint_number == result.hints else f"hint {result.hint_number}"
        print(f"\n{label} ({result.hint_number}/{result.hints}):")
        for line in result.hint.splitlines():
            print(f"  {line}")
    return 0 if result.passed else 1


def cmd_class_reset(args: argparse.Namespace) -> int:
    target = _target(args)
    if isinstance(target, int):
        return target
    room, trainee, exercise = target
    quiet_sdk_logs()
    try:
        room.reset(trainee, exercise)
    except (ClassError, RuntimeError, OSError) as err:
        return _fail(err)
    print(f"{trainee}: {exercise} is back to its broken starting state")
    return 0


def cmd_class_solve(args: argparse.Namespace) -> int:
    target = _target(args)
    if isinstance(target, int):
        return target
    room, trainee, exercise = target
    quiet_sdk_logs()
    try:
        result = room.solve(trainee, exercise)
    except (ClassError, RuntimeError, OSError) as err:
        return _fail(err)
    print(f"{trainee}: applied the reference fix of {exercise} (recorded as skipped)")
    for finding in result.findings:
        print(f"  {finding.code} {finding.title}: {finding.detail}")
    return 0 if result.passed else 1


def cmd_class_status(args: argparse.Namespace) -> int:
    try:
        status = _room(args).status()
    except ClassError as err:
        return _fail(err)
    if args.json:
        print_json(json.dumps(status, indent=2))
        return 0
    ids = [e["id"] for e in status["exercises"]]
    info = status["class"]
    print(f"class of {info['trainees']} started {info['started']} ({info['state_dir']})")
    print("  " + "  ".join(f"{n + 1}={i}" for n, i in enumerate(ids)))
    print(
        f"{'trainee':<12} " + " ".join(f"{n + 1:>2}" for n in range(len(ids))) + "  last activity"
    )
    for row in status["trainees"]:
        cells = " ".join(f"{SYMBOLS[row['exercises'][i]['state']]:>2}" for i in ids)
        print(f"{row['id']:<12} {cells}  {row['last_activity'] or '-'}")
    print("· not started  ✗ in progress  ✓ passed  s skipped (solved)")
    return 0


def add_class_commands(sub: argparse._SubParsersAction) -> None:
    cls = sub.add_parser(
        "class",
        help="run a training class: isolated trainees, exercises with checks and hints",
        description="A class of trainees in one sandbox, each with their own identities and "
        "vaults; exercises are broken states to fix, verified against the sandbox. See "
        "docs/training.md.",
    )
    actions = cls.add_subparsers(dest="class_command", metavar="ACTION", required=True)
    state_help = (
        f"the class's state directory (default: ${CLASS_STATE_VAR} or {default_class_dir()})"
    )
    trainee_help = f"trainee id, e.g. trainee-07 (default: ${TRAINEE_VAR}, set by `class env`)"

    start = actions.add_parser(
        "start",
        help="start (or restart) a class in the foreground; Ctrl-C stops it",
        description="Create the class in the state dir (or reopen it: progress is kept), run "
        "its sandbox on 127.0.0.1 and set every trainee's exercises up.",
    )
    start.add_argument("--trainees", type=int, required=True, metavar="N", help="1-99")
    start.add_argument("--exercises", metavar="LIST", help="comma-separated ids (default: all)")
    start.add_argument(
        "--port", type=_port, default=sb.DEFAULT_PORT, help=f"default {sb.DEFAULT_PORT}"
    )
    start.add_argument("--state-dir", type=_path, metavar="DIR", help=state_help)
    start.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"the dashboard's address (default {DEFAULT_HOST}: this machine only; another "
        "address serves the classroom network over plain HTTP, with a warning)",
    )
    start.add_argument(
        "--dashboard-port", type=_port, default=0, help="the dashboard's port (default: any free)"
    )
    start.add_argument(
        "--scenario",
        type=_path,
        metavar="FILE",
        help="scenario YAML merged into the class's (e.g. propagation_delay: 20, extra vaults)",
    )
    start.set_defaults(func=cmd_class_start)

    def common(parser: argparse.ArgumentParser, *, exercise: bool = True) -> None:
        parser.add_argument(
            "--trainee", default=_env_trainee(), required=_env_trainee() is None, help=trainee_help
        )
        if exercise:
            parser.add_argument("--exercise", required=True, metavar="ID")
        parser.add_argument("--state-dir", type=_path, metavar="DIR", help=state_help)

    env = actions.add_parser("env", help="print a trainee's shell exports (eval them)")
    common(env, exercise=False)
    env.add_argument(
        "--credential",
        choices=("client-secret", "managed-identity", "imds"),
        default="client-secret",
        help="client-secret: the trainee's backend app (default); managed-identity / imds: "
        "their user-assigned managed identity, as App Service or a VM would give it",
    )
    env.add_argument("--json", action="store_true", help="print a JSON object instead")
    env.set_defaults(func=cmd_class_env)

    check = actions.add_parser(
        "check", help="verify one exercise; exit 0 pass, 1 fail (+ next hint)"
    )
    common(check)
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=cmd_class_check)

    reset = actions.add_parser("reset", help="put one exercise back in its broken state")
    common(reset)
    reset.set_defaults(func=cmd_class_reset)

    solve = actions.add_parser("solve", help="apply the reference fix (recorded as skipped)")
    common(solve)
    solve.set_defaults(func=cmd_class_solve)

    status = actions.add_parser("status", help="trainees × exercises: the class's progress")
    status.add_argument("--state-dir", type=_path, metavar="DIR", help=state_help)
    status.add_argument("--json", action="store_true", help="print the status document")
    status.set_defaults(func=cmd_class_status)


def _env_trainee() -> str | None:
    return os.environ.get(TRAINEE_VAR) or None
