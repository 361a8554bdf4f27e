"""`semlat serve`: loopback by default, a warning elsewhere, bad input refused in one line before serving."""

from __future__ import annotations

import pytest

from tests.cli.conftest import expect_refusal


@pytest.fixture
def served(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    return calls


def test_serves_on_loopback_by_default(cli, run_workspace, served):
    code, out, err = cli("serve", "-w", run_workspace, "--device", "cpu")
    assert code == 0, err
    ((app, options),) = served
    assert options["host"] == "127.0.0.1" and options["port"] == 8765
    assert "http://127.0.0.1:8765/" in out and "warning" not in err
    assert app.state.viewer.ws.root == run_workspace


def test_another_host_warns(cli, run_workspace, served):
    code, out, err = cli("serve", "-w", run_workspace, "--host", "0.0.0.0", "--port", "9000")
    assert code == 0, err
    assert served[0][1]["host"] == "0.0.0.0" and served[0][1]["port"] == 9000
    assert "warning" in err and "anyone" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "0"], "0 is not in [1, 65535]"),
        (["--port", "70000"], "70000 is not in"),
        (["--report", "{tmp}"], "no report.html"),
    ],
    ids=["port 0", "port too big", "report without report.html"],
)
def test_bad_input_is_one_line(cli, run_workspace, served, tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    expect_refusal(cli, ["serve", "-w", run_workspace, *args], (message,), run_workspace)
    assert not served


def test_no_workspace_is_refused(cli, tmp_path, served):
    expect_refusal(cli, ["serve", "-w", tmp_path / "none"], ("not a semlat workspace",), tmp_path)
    assert not served
