"""``simopt merge``: one scenario for a province formed by merging others (the 2025 reform).

Only argparse is imported at module level: every command builds the same parser.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

EPILOG = """\
example (the new Tây Ninh, the district level gone):
  simopt merge scenarios/long_an.yaml scenarios/tay_ninh.yaml --name tay_ninh_2025 \\
    --map provincial_district_civil_servants=provincial_civil_servants \\
    -o scenarios/tay_ninh_2025.yaml

Pools stay apart with their ids prefixed by each input's name (long_an_pd_staff); groups merge
by id; --map OLD=NEW moves a group's pools (or one pool's, by its id) into group NEW. Targets of
the same id add their minimum counts; differing shares or levels take the stricter. Course and
exam numbers that differ are weighted by the eligible people the course is open to in each
province (range ends alike; pools it was closed to there are marked former_closed_courses) unless
--rule FIELD=first|max|min; months, levels and attempts must agree unless a rule chooses.
Ceilings and seats are summed; one input without a ceiling means none. The horizon starts at the
latest start. Every decision is printed and written into the file's header."""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "merge",
        help="merge the scenarios of provinces merged on 1 July 2025 into one scenario",
        description="Write one valid scenario for a merged province from the scenarios of the\n"
        "provinces it was formed from, and report each conflict and how it was resolved. The\n"
        "output is validated like any scenario file before it is written (atomically); on bad\n"
        "input nothing is written and the exit code is 2.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="two or more scenario YAML files")
    p.add_argument(
        "--name",
        required=True,
        help="the merged scenario's name (letters, digits and _), e.g. tay_ninh_2025",
    )
    p.add_argument(
        "--map",
        action="append",
        metavar="OLD=NEW",
        help="move every pool of group OLD, or the one pool OLD (its prefixed id, or its own id "
        "when only one input has it), into group NEW (repeatable); a NEW that names no group "
        "renames OLD, whose targets follow; into an existing group, OLD's targets follow only "
        "where that group has a target of the same id",
    )
    p.add_argument(
        "--rule",
        action="append",
        metavar="FIELD=first|max|min",
        help="how a number that differs is resolved instead of the head-count weighted mean (or "
        "the refusal, for months, levels and attempts): FIELD is a field name (every course) or "
        "a path such as courses.level4.exam_pass_probability (repeatable)",
    )
    p.add_argument("--title", default="", help="the merged scenario's title")
    p.add_argument(
        "--group-name",
        action="append",
        metavar="GROUP=TEXT",
        help="the display name of a merged group, e.g. one --map created (repeatable)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.yaml",
        help="the merged scenario file, in a directory that exists (it is not created)",
    )
    p.set_defaults(func=cmd_merge)


def cmd_merge(args: argparse.Namespace) -> int:
    from simopt.errors import printable
    from simopt.iofiles import write_text_atomic
    from simopt.merge import MergeError, MergeOptions, describe, merge_files, parse_pairs

    out = Path(args.output)
    _check_output(out, args.output)
    for f in args.files:
        if Path(f).exists() and out.exists() and Path(f).resolve() == out.resolve():
            raise MergeError(f"-o {printable(args.output)} is one of the inputs; write elsewhere")
    options = MergeOptions(
        name=args.name,
        title=args.title,
        maps=parse_pairs(
            args.map,
            "--map",
            "OLD=NEW, e.g. provincial_district_civil_servants=provincial_civil_servants",
        ),
        rules=parse_pairs(args.rule, "--rule", "FIELD=first|max|min"),
        group_names=parse_pairs(args.group_name, "--group-name", "GROUP=TEXT"),
    )
    argv = getattr(args, "argv", None) or ["merge", *args.files]
    merged = merge_files(
        args.files, options, command="simopt " + shlex.join(argv), output=str(args.output)
    )
    _check_output(out, args.output)  # again: the merge may take a while
    try:
        write_text_atomic(out, merged.text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise MergeError(
            f"-o {printable(args.output)}: cannot write it ({reason}); nothing written"
        ) from None
    lines = [f"{args.output}: merged scenario '{args.name}' ({describe(merged.scenario)})"]
    lines += [f"  {line}" for line in merged.report]
    print("\n".join(printable(line) for line in lines))
    return 0


def _check_output(out: Path, given: str) -> None:
    """Refuse, in one line naming the ``-o`` path, an output that is a directory or whose
    directory is missing (merge creates no directories: a mistyped path would otherwise leave a
    file somewhere unexpected)."""
    from simopt.errors import printable
    from simopt.merge import MergeError

    shown = printable(given)
    if out.is_dir():
        example = printable(str(out / "merged.yaml"))
        raise MergeError(f"-o {shown}: is a directory; name the file to write, e.g. {example}")
    parent = out.parent
    if not parent.exists():
        raise MergeError(
            f"-o {shown}: its directory {printable(str(parent))} does not exist; simopt merge "
            "does not create directories: create it first or write elsewhere"
        )
    if not parent.is_dir():
        raise MergeError(f"-o {shown}: {printable(str(parent))} is not a directory")
