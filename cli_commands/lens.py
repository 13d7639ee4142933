"""``lens search`` and ``lens show``: the bundled Gyroflow lens-profile database."""

from __future__ import annotations

import json

import click


@click.group("lens")
def lens_group() -> None:
    """Search and show the bundled Gyroflow lens profiles (their names work with --lens)."""


@lens_group.command("search")
@click.argument("text", nargs=-1, required=True)
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True,
              help="Most profiles listed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def lens_search_cmd(text: tuple[str, ...], limit: int, as_json: bool) -> None:
    """List profiles whose name, brand, model, lens or note contain every word of TEXT."""

    from sensors.lens_db.lookup import format_search, search_profiles

    rows = search_profiles(" ".join(text), limit=None)
    if as_json:
        click.echo(json.dumps(rows[:limit], indent=2))
    else:
        more = f"... {len(rows) - limit} more (--limit)" if len(rows) > limit else ""
        click.echo(format_search(rows[:limit], more))


@lens_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def lens_show_cmd(name: str, as_json: bool) -> None:
    """Show one profile: calibration size, focal, distortion, readout, notes."""

    from sensors.lens_db.lookup import describe_profile, format_profile

    info = describe_profile(name)
    click.echo(json.dumps(info, indent=2) if as_json else format_profile(info))

