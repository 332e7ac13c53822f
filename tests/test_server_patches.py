"""chatproject.server's check: the installed server stack is the tested one, and a missing internal or an
untested version stops `install()` with the library and the name (issue 23)."""

import re
from pathlib import Path

import pytest

import chatproject.server
from chatproject.server import check, installer
from chatproject.server.check import INTERNALS, TESTED_SERIES, Internal, UntestedServerError

ROOT = Path(__file__).resolve().parent.parent
TABLE_ROW = re.compile(r"^\| (\S+) \| `([^`]+)` \| `([^`]+)` \| .+ \|$", re.MULTILINE)


def test_check_passes_on_the_installed_versions():
    assert check.problems() == []


def test_check_reports_a_missing_class_attribute(monkeypatch: pytest.MonkeyPatch):
    from twisted.web.http import HTTPChannel

    monkeypatch.delattr(HTTPChannel, "_respondToBadRequestAndDisconnect")

    assert check.problems() == [
        "Twisted: twisted.web.http.HTTPChannel has no `_respondToBadRequestAndDisconnect`"
    ]


def test_check_reports_a_missing_instance_attribute(monkeypatch: pytest.MonkeyPatch):
    # `_tempDataLen` is found in FileDescriptor's source; a name no Twisted assigns is not.
    gone = Internal("Twisted", "twisted.internet.abstract.FileDescriptor", "_tempDataLength")
    monkeypatch.setattr(check, "INTERNALS", (*INTERNALS, gone))

    assert check.problems() == ["Twisted: twisted.internet.abstract.FileDescriptor has no `_tempDataLength`"]


def test_check_reports_a_version_outside_the_tested_series(monkeypatch: pytest.MonkeyPatch):
    real_version = check.version
    monkeypatch.setattr(check, "version", lambda name: "27.1.0" if name == "Twisted" else real_version(name))

    assert check.problems() == [
        "Twisted 27.1.0 is outside the tested 26.10.x series (chatproject.server.check.TESTED_SERIES)"
    ]


def test_install_raises_naming_the_library_and_the_name(monkeypatch: pytest.MonkeyPatch):
    from autobahn.websocket.protocol import WebSocketProtocol

    monkeypatch.setattr(installer, "_installed", False)
    monkeypatch.delattr(WebSocketProtocol, "_perMessageCompress", raising=False)
    monkeypatch.setattr(check, "_source", lambda cls: "")  # as if autobahn no longer assigned it

    with pytest.raises(
        UntestedServerError, match=r"autobahn: .*WebSocketProtocol has no `_perMessageCompress`"
    ):
        installer.install()
    assert installer._installed is False


def test_the_package_table_lists_exactly_the_checked_internals():
    table = [Internal(*row) for row in TABLE_ROW.findall(chatproject.server.__doc__ or "")]

    assert table == list(INTERNALS)


def test_every_checked_internal_is_used_by_the_code():
    """A name the patches stopped using leaves the table and the check."""
    sources = [
        path.read_text()
        for path in [*ROOT.glob("chatproject/server/*.py"), *ROOT.glob("realtime/**/*.py")]
        if path.name not in {"__init__.py", "check.py"} and "tests" not in path.parts
    ]
    unused = [
        internal
        for internal in INTERNALS
        if not any(re.search(rf"\b{re.escape(internal.name)}\b", source) for source in sources)
    ]
    assert unused == []


@pytest.mark.parametrize("library", sorted(TESTED_SERIES))
def test_requirements_pin_each_library_in_its_tested_series(library: str):
    """Bumping a pin to a new series fails here until the table is checked again and TESTED_SERIES moves."""
    pins = (ROOT / "requirements.in").read_text()
    pinned = re.search(rf"^{re.escape(library)}==(\S+)$", pins, re.MULTILINE | re.IGNORECASE)

    assert pinned is not None
    assert check._series(pinned.group(1)) == TESTED_SERIES[library]
