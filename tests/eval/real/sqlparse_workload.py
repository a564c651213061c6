"""The workload eval-real profiles sqlparse with: a SQL formatter, as an editor or a migration
linter runs it, reindenting and upper-casing a 400-statement script of reporting queries and
parsing it into statements, ROUNDS times. Run from the unpacked sdist:
`python3 sqlparse_workload.py ROUNDS`."""

import sys

import sqlparse


def script():
    """400 reporting queries: joins, filters, grouping, ordering."""
    statements = []
    for i in range(400):
        statements.append(
            f"select a.id, b.name, sum(c.amount) as total from orders a "
            f"join users b on a.user_id = b.id left join payments c on c.order_id = a.id "
            f"where a.created > '2024-01-{i % 28 + 1:02d}' and b.country in ('FR', 'DE', 'US') "
            f"group by a.id, b.name having sum(c.amount) > {i} order by total desc limit 10;")
    return "\n".join(statements)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    sql = script()
    size = 0
    for _ in range(rounds):
        size += len(sqlparse.format(sql, reindent=True, keyword_case="upper"))
        size += len(sqlparse.parse(sql))
    print(f"{len(sql)} characters of SQL, {size} characters formatted")


if __name__ == "__main__":
    main()
