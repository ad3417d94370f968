"""Which packages of a debootstrapped Python base root to purge (run with the root's own python3, inside it):
the build tool chain some Debian packages depend on without needing it at run time (python3-scipy depends on
python3-pythran, a compiler, which brings g++, Boost's headers and the -dev packages), then every package
nothing left depends on (in a Depends or Pre-Depends line, by name or by what it provides), except those asked
for and Debian's required, important and essential ones. Prints one package name a line.
Usage: python3 python-base-trim.py [ASKED-FOR PACKAGE...] < /var/lib/dpkg/status
"""
import re
import sys

BUILD_ONLY = re.compile(r"-dev$|^(gcc|g\+\+|cpp)(-\d+)?$|^binutils|^python3-pythran$")


def installed(status):
    packages = {}
    for paragraph in status.split("\n\n"):
        fields, key = {}, None
        for line in paragraph.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
            else:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            packages[fields["Package"]] = fields
    return packages


def names(field):
    """Every package name a relationship field may be satisfied by (each alternative, without version or arch)."""
    return {re.split(r"[\s(:]", alt.strip())[0] for group in field.split(",") for alt in group.split("|") if alt.strip()}


def keep(fields, asked):
    return fields["Package"] in asked or fields.get("Priority") in ("required", "important") or fields.get("Essential") == "yes"


def main():
    asked = set(sys.argv[1:])
    packages = installed(sys.stdin.read())
    purge = {name for name, fields in packages.items() if BUILD_ONLY.search(name) and not keep(fields, asked)}
    while True:
        left = {name: fields for name, fields in packages.items() if name not in purge}
        needed = set()
        for fields in left.values():
            needed |= names(fields.get("Depends", "")) | names(fields.get("Pre-Depends", ""))
        orphans = {name for name, fields in left.items() if not keep(fields, asked) and not ({name} | names(fields.get("Provides", ""))) & needed}
        if not orphans:
            break
        purge |= orphans
    print("\n".join(sorted(purge)))


if __name__ == "__main__":
    main()
