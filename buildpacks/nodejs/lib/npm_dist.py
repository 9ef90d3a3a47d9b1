#!/usr/bin/env python3
"""Helpers for the Node.js buildpack that bash cannot do well.

  facts PACKAGE_JSON             print four lines: engines.node, engines.npm, the
                                 packageManager field as "NAME VERSION"
                                 ("pnpm@9.12.0+sha512..." -> "pnpm 9.12.0"), and "build"
                                 when scripts.build exists (each empty when unset)
  resolve RANGE [NODE_VERSION]   read abbreviated registry metadata on stdin, print
                                 "VERSION TARBALL INTEGRITY" of the highest version in RANGE
                                 (whose engines.node accepts NODE_VERSION, when given)
  verify FILE INTEGRITY          exit 0 when FILE matches the SRI string (sha512-... or sha1:HEX)

Ranges follow npm's semver grammar: x-ranges (24, 24.x, *), ~ and ^, comparators, hyphen
ranges and ||. Pre-releases are never picked.
"""
import base64
import hashlib
import json
import re
import sys

Version = tuple  # (major, minor, patch)

PARTIAL = re.compile(r"^v?(\d+|[xX*])?(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class RangeError(Exception):
    pass


def partial(text):
    """'1.2' -> [1, 2, None]; x, X and * count as missing."""
    match = PARTIAL.match(text)
    if not match:
        raise RangeError(f"not a version: {text!r}")
    return [None if p is None or p in "xX*" else int(p) for p in match.groups()]


def floor(parts):
    return tuple(p or 0 for p in parts)


def bump(parts):
    """Smallest version above every version the partial matches (exclusive upper bound)."""
    major, minor, _ = parts
    if major is None:
        return None
    if minor is None:
        return (major + 1, 0, 0)
    return (major, minor + 1, 0)


def comparators(token):
    """One range token -> list of (op, version) with op in >=, >, <=, <."""
    op_match = re.match(r"^(<=|>=|<|>|=|~>|~|\^)?(.*)$", token)
    assert op_match
    op, rest = op_match.group(1) or "", op_match.group(2)
    parts = partial(rest)
    major, minor, patch = parts
    complete = patch is not None and minor is not None and major is not None
    if op in ("", "="):
        if complete:
            return [(">=", floor(parts)), ("<=", floor(parts))]
        upper = bump(parts)
        return [(">=", floor(parts))] + ([("<", upper)] if upper else [])
    if op in ("~", "~>"):
        if major is None:
            return [(">=", (0, 0, 0))]
        upper = (major + 1, 0, 0) if minor is None else (major, minor + 1, 0)
        return [(">=", floor(parts)), ("<", upper)]
    if op == "^":
        if major is None:
            return [(">=", (0, 0, 0))]
        if major > 0 or minor is None:
            upper = (major + 1, 0, 0)
        elif minor > 0 or patch is None:
            upper = (0, minor + 1, 0)
        else:
            upper = (0, 0, patch + 1)
        return [(">=", floor(parts)), ("<", upper)]
    if op == ">":
        return [(">", floor(parts))] if complete else ([(">=", bump(parts))] if major is not None else [("<", (0, 0, 0))])
    if op == ">=":
        return [(">=", floor(parts))]
    if op == "<":
        return [("<", floor(parts))]
    # "<=" with a partial means "up to the end of that partial"
    if complete:
        return [("<=", floor(parts))]
    upper = bump(parts)
    return [("<", upper)] if upper else [(">=", (0, 0, 0))]


def parse_range(text):
    """'>=20 <22 || 24.x' -> list of comparator sets (a version must satisfy one set)."""
    sets = []
    for alternative in (text.strip() or "*").split("||"):
        alternative = re.sub(r"(<=|>=|<|>|=|~>|~|\^)\s+", r"\1", alternative.strip())
        hyphen = re.match(r"^(\S+)\s+-\s+(\S+)$", alternative)
        if hyphen:
            low, high = partial(hyphen.group(1)), partial(hyphen.group(2))
            upper = [("<=", floor(high))] if high[2] is not None else ([("<", bump(high))] if high[0] is not None else [])
            sets.append([(">=", floor(low))] + upper)
            continue
        tokens = alternative.split() or ["*"]
        sets.append([c for token in tokens for c in comparators(token)])
    return sets


def satisfies(version, sets):
    checks = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b}
    return any(all(checks[op](version, bound) for op, bound in group) for group in sets)


def release_tuple(text):
    match = RELEASE.match(text)
    return tuple(int(p) for p in match.groups()) if match else None


def resolve(range_text, node_version, metadata):
    sets = parse_range(range_text)
    best = None
    for text, info in metadata.get("versions", {}).items():
        version = release_tuple(text)
        if version is None or not satisfies(version, sets):
            continue
        node_range = (info.get("engines") or {}).get("node") if node_version else None
        if node_range and not satisfies(release_tuple(node_version) or (0, 0, 0), parse_range(node_range)):
            continue
        if best is None or version > best[0]:
            best = (version, text, info)
    if best is None:
        raise RangeError(f"no published version satisfies {range_text!r}")
    dist = best[2].get("dist", {})
    integrity = dist.get("integrity") or ("sha1:" + dist["shasum"] if dist.get("shasum") else "")
    if not integrity or not dist.get("tarball"):
        raise RangeError(f"version {best[1]} has no tarball or checksum in the registry metadata")
    # An SRI string may list several hashes; keep the strongest (sha512).
    strongest = next((h for h in integrity.split() if h.startswith("sha512-")), integrity.split()[0])
    return f"{best[1]} {dist['tarball']} {strongest}"


def verify(path, integrity):
    algorithm, _, expected = integrity.partition("-")
    if integrity.startswith("sha1:"):
        algorithm, expected = "sha1", integrity[5:]
    if algorithm not in ("sha512", "sha384", "sha256", "sha1"):
        raise RangeError(f"unsupported integrity algorithm {algorithm!r}")
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    actual = digest.hexdigest() if algorithm == "sha1" else base64.b64encode(digest.digest()).decode()
    return actual == expected


def package_json(path):
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except ValueError as error:
            raise RangeError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise RangeError(f"{path} is not a JSON object")
    return data


def facts(data):
    """What the buildpack needs from package.json, in one read (python starts slowly)."""
    engines = data.get("engines") or {}

    def engine(key):
        value = engines.get(key) if isinstance(engines, dict) else None
        if not isinstance(value, str):
            return ""
        if "\n" in value or "\r" in value:
            raise RangeError(f"engines.{key} must be one line")
        return value.strip()

    manager = ""
    declared = data.get("packageManager")
    if isinstance(declared, str) and declared:
        match = re.match(r"^(npm|yarn|pnpm)@([0-9A-Za-z.+-]+?)(?:\+.*)?$", declared.strip())
        if not match:
            raise RangeError(f"packageManager {declared!r} is not NAME@VERSION (npm, yarn or pnpm)")
        manager = f"{match.group(1)} {match.group(2)}"
    scripts = data.get("scripts") or {}
    build = "build" if isinstance(scripts, dict) and isinstance(scripts.get("build"), str) else ""
    return [engine("node"), engine("npm"), manager, build]


def main(argv):
    command, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    if command == "facts" and len(args) == 1:
        print("\n".join(facts(package_json(args[0]))))
        return 0
    if command == "resolve" and len(args) in (1, 2):
        print(resolve(args[0], args[1] if len(args) == 2 else None, json.load(sys.stdin)))
        return 0
    if command == "verify" and len(args) == 2:
        return 0 if verify(args[0], args[1]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (RangeError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
