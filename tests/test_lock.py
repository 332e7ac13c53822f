"""requirements*.txt are hash locks generated from requirements*.in (`make lock`) and kept in step with them.

Offline: the locks are read, not re-resolved. A pin added, changed or removed in a .in file without
`make lock` leaves the lock disagreeing with it, and these tests say which package and how to fix it.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"requirements.txt": "requirements.in", "requirements-dev.txt": "requirements-dev.in"}
FIX = "run `make lock` and commit the regenerated requirements*.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Locked:
    """One pinned package of a lock file."""

    version: str
    hashes: list[str] = field(default_factory=list)
    via: set[str] = field(default_factory=set)


def read_in(name: str) -> dict[str, str]:
    """The `name==version` pins of a .in file and of the .in files it includes with -r."""
    pins: dict[str, str] = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins |= read_in(line[3:].strip())
        elif line and not line.startswith("-"):
            match = PIN.match(line)
            assert match, f"{name}: pin every requirement with == ({line!r})"
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def read_lock(name: str) -> dict[str, list[Locked]]:
    """A uv/pip-compile lock: every pin with its hashes and the `# via` sources naming it (a package
    resolved differently per platform, under markers, has one entry per version)."""
    locked: dict[str, list[Locked]] = {}
    current: Locked | None = None
    for line in (ROOT / name).read_text().splitlines():
        stripped = line.strip()
        match = PIN.match(line)
        if match:
            current = Locked(match.group(2))
            locked.setdefault(normalize(match.group(1)), []).append(current)
        elif current is not None and stripped.startswith("--hash="):
            current.hashes.append(stripped.removeprefix("--hash=").rstrip(" \\"))
        elif current is not None and stripped.startswith("#"):
            source = stripped.lstrip("# ").removeprefix("via").strip()
            if source.startswith("-r "):
                current.via.add(source[3:])
        elif stripped and not stripped.startswith("#"):
            raise AssertionError(f"{name}: unexpected line {line!r}")
    return locked


@pytest.mark.parametrize(("lock", "source"), LOCKS.items())
def test_every_pin_of_the_in_file_is_locked_at_that_version(lock: str, source: str) -> None:
    locked = read_lock(lock)
    wrong = {
        name: (version, [entry.version for entry in locked.get(name, [])])
        for name, version in read_in(source).items()
        if version not in [entry.version for entry in locked.get(name, [])]
    }
    assert not wrong, f"{lock} is stale (wanted, locked): {wrong}; {FIX}"


@pytest.mark.parametrize(("lock", "source"), LOCKS.items())
def test_lock_holds_no_direct_requirement_the_in_file_dropped(lock: str, source: str) -> None:
    wanted = read_in(source)
    in_files = {source, "requirements.in"}
    dropped = [
        name
        for name, entries in read_lock(lock).items()
        for entry in entries
        if entry.via & in_files and name not in wanted
    ]
    assert not dropped, f"{lock} still locks {dropped}, no longer in {source}; {FIX}"


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_has_a_pinned_version_and_sha256_hashes(lock: str) -> None:
    locked = read_lock(lock)
    assert locked
    unhashed = [name for name, entries in locked.items() for entry in entries if not entry.hashes]
    assert not unhashed, f"{lock}: no hashes for {unhashed}; {FIX}"
    assert all(h.startswith("sha256:") for entries in locked.values() for e in entries for h in e.hashes)


def test_dev_lock_agrees_with_the_runtime_lock_on_every_shared_package() -> None:
    runtime = read_lock("requirements.txt")
    dev = read_lock("requirements-dev.txt")
    assert set(runtime) <= set(dev), set(runtime) - set(dev)
    differ = {
        name: ([e.version for e in entries], [e.version for e in dev[name]])
        for name, entries in runtime.items()
        if {e.version for e in entries} != {e.version for e in dev[name]}
    }
    assert not differ, f"{differ}; {FIX}"


def test_locks_are_generated_by_the_makefiles_lock_command() -> None:
    makefile = (ROOT / "Makefile").read_text()
    command = re.search(r"^LOCK := \$\(BIN\)/(uv pip compile [^\n]*?)( --quiet)?$", makefile, re.MULTILINE)
    assert command, "Makefile: LOCK := $(BIN)/uv pip compile ..."
    for lock, source in LOCKS.items():
        assert f"\n#    {command.group(1)} {source} -o {lock}\n" in (ROOT / lock).read_text(), lock
        assert re.search(rf"^\t\$\(LOCK\) {re.escape(source)} -o {re.escape(lock)}$", makefile, re.MULTILINE)


def test_make_and_the_dockerfile_install_with_require_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    installs = re.findall(r"pip install [^\n]*-r requirements(?:-dev)?\.txt", makefile)
    installs += re.findall(r"pip install [^\n]*-r requirements\.txt", (ROOT / "Dockerfile").read_text())
    assert len(installs) == 3, installs
    assert all("--require-hashes" in line for line in installs), installs
