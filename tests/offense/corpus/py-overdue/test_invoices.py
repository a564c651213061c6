"""The program's own tests: `python3 -m unittest -q` in this directory."""

import unittest

from invoices import any_overdue, invoices


class AnyOverdueTest(unittest.TestCase):
    def test_an_unpaid_late_invoice_is_overdue(self):
        self.assertTrue(any_overdue([{"paid": True, "due": 1}, {"paid": False, "due": 5}], 10))

    def test_paid_or_not_yet_due_is_not(self):
        self.assertFalse(any_overdue([{"paid": True, "due": 1}, {"paid": False, "due": 50}], 10))
        self.assertFalse(any_overdue([], 10))

    def test_agrees_with_any(self):
        for seed in range(20):
            batch = invoices(200, seed)
            for today in (19_000, 19_300, 20_000):
                expected = any(not i["paid"] and i["due"] < today for i in batch)
                self.assertEqual(any_overdue(batch, today), expected)


if __name__ == "__main__":
    unittest.main()
