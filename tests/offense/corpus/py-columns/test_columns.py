import unittest

from columns import column_kinds, orders, parse_number, render


class ColumnsTest(unittest.TestCase):
    def test_numbers(self):
        self.assertEqual(parse_number("42"), 42)
        self.assertEqual(parse_number("-7"), -7)
        self.assertEqual(parse_number("3.25"), 3.25)
        self.assertEqual(parse_number("1e3"), 1000.0)
        self.assertEqual(parse_number(" 5 "), 5)
        self.assertIsNone(parse_number("Lisbon"))
        self.assertIsNone(parse_number(""))

    def test_kinds(self):
        rows = [("1", "a", "2.5"), ("2", "b", "3")]
        self.assertEqual(column_kinds(rows), ["int", "text", "float"])

    def test_render(self):
        table = render(("id", "city", "amount"), [("1", "Oslo", "2.5"), ("10", "Cork", "13")])
        self.assertEqual(table, "id  city  amount\n"
                                "--  ----  ------\n"
                                " 1  Oslo    2.50\n"
                                "10  Cork   13.00\n")

    def test_orders(self):
        self.assertEqual(orders(3, 5), orders(3, 5))
        self.assertEqual(column_kinds(orders(200, 5)),
                         ["int", "text", "text", "float", "int", "text"])


if __name__ == "__main__":
    unittest.main()
