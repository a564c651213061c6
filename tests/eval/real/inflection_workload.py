"""The workload eval-real profiles inflection with: an ORM or API layer's name conversions,
class names to table names and back, and plurals, over a few thousand identifiers, ROUNDS
times. Run from the unpacked sdist: `python3 inflection_workload.py ROUNDS`."""

import sys

import inflection

STEMS = ["user", "order", "line item", "invoice", "address", "category", "person", "child",
         "status", "analysis", "matrix", "quiz", "company", "leaf", "bus", "octopus"]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    names = [f"{s.title().replace(' ', '')}{kind}" for s in STEMS
             for kind in ("", "Record", "HTTPResponse", "ID", "Summary", "V2")] * 25
    total = 0
    for _ in range(rounds):
        for name in names:
            table = inflection.pluralize(inflection.underscore(name))
            back = inflection.camelize(inflection.singularize(table))
            total += len(inflection.parameterize(inflection.humanize(table))) + len(back)
            total += len(inflection.dasherize(inflection.tableize(back)))
    print(f"{len(names)} names, {total} characters")


if __name__ == "__main__":
    main()
