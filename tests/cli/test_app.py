"""The entry point: a SemlatError is one line on stderr and exit code 2; plugins add their commands."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
import typer

from semlat.errors import SemlatError

app_module = importlib.import_module("semlat.cli.app")  # `semlat.cli.app` the attribute is the Typer app itself


@pytest.fixture
def fake_app(monkeypatch):
    """A Typer app standing in for semlat's, with a command ``fail MESSAGE`` raising a SemlatError, and ``crash``."""
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.command()
    def fail(message: str) -> None:
        raise SemlatError(message)

    @app.command()
    def crash() -> None:
        raise ValueError("a bug, not a user error")

    monkeypatch.setattr(app_module, "app", app)
    return app


def test_a_semlat_error_is_one_line_on_stderr_and_exit_code_2(cli, fake_app, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    message = "workspace /data/scene has no images: run `semlat masks` first " + "and more words " * 10
    code, out, err = cli("fail", message)
    assert (code, out) == (2, "")
    assert err == f"error: {message}\n"  # one line however narrow the terminal, no traceback


def test_other_exceptions_are_not_turned_into_user_errors(cli, fake_app):
    with pytest.raises(ValueError, match="a bug"):
        cli("crash")


@pytest.mark.parametrize("name", ["shot[left].png", "scan[/b]/a.png"])
def test_brackets_in_a_message_are_printed_as_they_are(cli, fake_app, name):
    message = f"image /photos/{name} cannot be read: replace or remove it"
    code, _, err = cli("fail", message)
    assert code == 2 and err == f"error: {message}\n"


def test_the_toy_world_plugin_adds_demo_eval_and_toyworld(monkeypatch):
    app = typer.Typer()
    monkeypatch.setattr(app_module, "app", app)
    app_module.load_plugins()
    assert {command.name or command.callback.__name__ for command in app.registered_commands} == {"demo", "eval"}
    assert [group.name for group in app.registered_groups] == ["toyworld"]


def test_every_function_of_the_entry_point_group_gets_the_app(cli, fake_app, monkeypatch):
    def register(app: typer.Typer) -> None:
        @app.command()
        def hello(name: str) -> None:
            print(f"hello {name}")

    seen = []
    entry = SimpleNamespace(load=lambda: register)
    monkeypatch.setattr(app_module, "entry_points", lambda group: seen.append(group) or [entry])
    code, out, err = cli("hello", "you")
    assert (code, out) == (0, "hello you\n"), err
    assert seen == [app_module.PLUGIN_GROUP] == ["semlat.cli"]


def test_help_lists_the_commands_in_pipeline_order(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = cli("--help")
    assert code == 0
    names = [line.split()[1] for line in out.splitlines() if line.startswith("│ ") and len(line.split()) > 2]
    stages = ["masks", "label", "embed", "query", "run", "search", "index", "metrics", "smooth", "refine", "info"]
    assert [name for name in names if name in stages] == stages
    assert {"import", "export", "demo", "eval", "toyworld"} <= set(names)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["masks", "photos", "-w", "ws", "--max-regions", "abc"], "Invalid value for '--max-regions'"),
        (["masks"], "Missing argument"),
        (["no-such-command"], "No such command"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_code_2(cli, args, message):
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    assert err.startswith("error:") and message in err and err.count("\n") == 1 and "--help" in err


def test_no_help_text_loses_a_bracketed_default_to_rich_markup(cli, monkeypatch):
    """An unescaped ``[default: ...]`` is read as a markup tag and vanishes, leaving "text ." behind."""
    monkeypatch.setenv("COLUMNS", "300")
    cli("--help")  # the plugins' commands (toyworld, eval, demo) are added on the first run
    paths, todo = [], [((), typer.main.get_command(app_module.app))]
    while todo:
        path, command = todo.pop()
        paths.append(path)
        todo += [((*path, name), sub) for name, sub in getattr(command, "commands", {}).items()]
    assert len(paths) > 20
    for path in paths:
        code, out, _ = cli(*path, "--help")
        assert code == 0 and " ." not in out, (path, [line for line in out.splitlines() if " ." in line])
