"""The command-line reference (docs/reference/cli.md), generated from the click commands themselves."""

from __future__ import annotations

import click

from trialdesk.cli import cli


def _walk(command: click.Command, path: list[str]):
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                yield from _walk(sub, [*path, name])


def commands() -> list[tuple[str, click.Command]]:
    """Every command and group, as ("trialdesk protocol check", command)."""
    return [(" ".join(path), command) for path, command in _walk(cli, ["trialdesk"])]


def _usage(name: str, command: click.Command) -> str:
    ctx = click.Context(command, info_name=name)
    return " ".join(command.collect_usage_pieces(ctx))


def render() -> str:
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands by `make docs`; a test fails when it is stale.",
        "Every command takes `--help`. Bad input prints one line starting `error:` on stderr and exits",
        "with status 2; `--json` prints one JSON document on stdout.",
    ]
    for name, command in commands():
        lines += ["", f"## `{name}`", "", f"    {name} {_usage(name, command)}".rstrip(), ""]
        lines.append((command.help or "").strip())
        params = [p for p in command.params if isinstance(p, click.Option | click.Argument)]
        rows = []
        for param in params:
            if isinstance(param, click.Option):
                names = ", ".join(f"`{opt}`" for opt in param.opts + param.secondary_opts)
                rows.append(f"| {names} | {(param.help or '').replace('|', '/')} |")
            else:
                rows.append(f"| `{param.human_readable_name}` | argument |")
        if rows:
            lines += ["", "| option | meaning |", "|---|---|", *rows]
    return "\n".join(lines) + "\n"
