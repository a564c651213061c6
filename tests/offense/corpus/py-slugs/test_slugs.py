"""The program's own tests: `python3 -m unittest -q` in this directory."""

import unittest

from slugs import slugify, titles


class SlugifyTest(unittest.TestCase):
    def test_words_become_lower_case_dashed(self):
        self.assertEqual(slugify("Hello, World!"), "hello-world")
        self.assertEqual(slugify("  Über  café -- 2026 "), "uber-cafe-2026")
        self.assertEqual(slugify("What's new?"), "whats-new")

    def test_every_title_gives_a_clean_slug(self):
        for title in titles(500):
            slug = slugify(title)
            self.assertRegex(slug, r"^[a-z0-9]+(-[a-z0-9]+)*$")


if __name__ == "__main__":
    unittest.main()
