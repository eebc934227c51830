#!/usr/bin/env python3
"""Validates an OCDS release package (e.g. essaim's proposal export) against the official OCDS 1.1.5
release-package schema, offline: the release schema's `id` URL is mapped to the local copy kept in
crates/essaim-core/tests/ocds/ (override with --schemas DIR).

Usage: scripts/validate_ocds.py PACKAGE.json [--schemas DIR]
Exit codes: 0 valid, 2 invalid or unreadable package (each error names the path and the field), 1 anything else.
Needs the `jsonschema` package (>= 4.18, for `referencing`). Formats are checked where jsonschema has a checker
installed (date-time needs `rfc3339-validator`; `uri` needs `rfc3987`, else it is not checked).
"""

import argparse
import json
import sys
from pathlib import Path

DEFAULT_SCHEMAS = Path(__file__).resolve().parent.parent / "crates" / "essaim-core" / "tests" / "ocds"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the release package JSON file")
    parser.add_argument("--schemas", type=Path, default=DEFAULT_SCHEMAS, help="folder of the two OCDS schemas")
    args = parser.parse_args()

    try:
        import jsonschema
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4
    except ImportError as e:
        print(f"error: {e}; install it with `pip install jsonschema`", file=sys.stderr)
        return 1

    try:
        package_schema = json.loads((args.schemas / "release-package-schema.json").read_text(encoding="utf-8"))
        release_schema = json.loads((args.schemas / "release-schema.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"error: cannot read the OCDS schemas in {args.schemas}: {e}", file=sys.stderr)
        return 1

    try:
        package = json.loads(args.package.read_text(encoding="utf-8"))
    except OSError as e:
        print(f"{args.package}: cannot be read: {e}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"{args.package}: not JSON: {e}", file=sys.stderr)
        return 2

    registry = Registry().with_resource(release_schema["id"], Resource.from_contents(release_schema, DRAFT4))
    validator = jsonschema.Draft4Validator(
        package_schema, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(package), key=lambda e: list(map(str, e.absolute_path)))
    for e in errors:
        path = "/" + "/".join(str(p) for p in e.absolute_path)
        print(f"{args.package}: {path}: {e.message}", file=sys.stderr)
    if errors:
        print(f"{args.package}: {len(errors)} error(s): not a valid OCDS 1.1 release package", file=sys.stderr)
        return 2
    releases = len(package.get("releases", []))
    print(f"{args.package}: valid OCDS {package.get('version')} release package ({releases} release(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
