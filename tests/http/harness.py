"""The frame of the HTTP tests: where things are, how a case is registered, how it fails,
and the captured traffic of the real Bit CLI (tests/captures).

A case is a plain function registered with @case; run.py runs them. It fails by raising
Failure (check, eq and the helpers of the other modules do) or any other exception.
"""
import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCOPED_BIN = Path(os.environ.get("SCOPED_BIN") or REPO / "build" / "scoped")
CAPTURES = Path(os.environ.get("SCOPED_CAPTURES") or REPO / "tests" / "captures")
TOOLS = REPO / "tests" / "tools"

SCOPE = "myorg.myscope"          # the scope every capture was exported to


class Failure(AssertionError):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def eq(got, want, what):
    if got != want:
        raise Failure(f"{what}: expected {short(want)}, got {short(got)}")


def short(value, limit=300):
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


CASES = []   # (module, title, function)


def case(title):
    def register(fn):
        CASES.append((fn.__module__, title, fn))
        return fn
    return register


def capture_dir(name):
    d = CAPTURES / name
    check(d.is_dir(), f"capture {d} is missing (tests/captures, or SCOPED_CAPTURES)")
    return d


def capture(name, number, kind="req"):
    """The raw body of request NNN of a capture directory (kind 'req' or 'resp')."""
    d = capture_dir(name)
    found = sorted(d.glob(f"{number:03d}-*.{kind}.bin"))
    check(found, f"capture {name}/{number:03d} ({kind}) is missing")
    return found[0].read_bytes()


def capture_request(name, number):
    """The logged line of request NNN (method, path, headers, status...)."""
    lines = (capture_dir(name) / "requests.jsonl").read_text().splitlines()
    return json.loads(lines[number - 1])


def client_id_of(name, number):
    return json.loads(capture_request(name, number)["headers"]["push-options"])["clientId"]
