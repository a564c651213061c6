"""The program's own tests: `python3 -m unittest -q` in this directory."""

import unittest

from blocklist import addresses, allowed


class AllowedTest(unittest.TestCase):
    def test_blocked_addresses_are_dropped_and_order_kept(self):
        self.assertEqual(
            allowed(["a@x.io", "b@x.io", "c@x.io", "b@x.io"], ["b@x.io"]),
            ["a@x.io", "c@x.io"],
        )

    def test_nothing_blocked_keeps_everything(self):
        send = addresses(100, 1)
        self.assertEqual(allowed(send, []), send)

    def test_a_large_list(self):
        send, blocked = addresses(2000, 1), addresses(300, 1)
        kept = allowed(send, blocked)
        self.assertTrue(all(a not in blocked for a in kept))
        self.assertEqual(len(kept) + sum(a in blocked for a in send), 2000)


if __name__ == "__main__":
    unittest.main()
