import unittest

from frames import HEADER, RECORD, decode, encode, readings


class FramesTest(unittest.TestCase):
    def test_round_trip(self):
        batch = readings(500, 3)
        self.assertEqual(decode(encode(batch)), batch)

    def test_layout(self):
        message = encode([(7, 1.5, "a/é")])
        self.assertEqual(message[:4], b"TLM1")
        self.assertEqual(len(message), HEADER.size + RECORD.size + len("a/é".encode()))

    def test_empty(self):
        self.assertEqual(decode(encode([])), [])

    def test_foreign_message(self):
        with self.assertRaises(ValueError):
            decode(b"XXXX\x00\x00\x00\x00")


if __name__ == "__main__":
    unittest.main()
