"""Joule's HTML report in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright): the checks of tests/e2e/html.rs. Arguments: a JSON file naming the pages and what
the test knows about them (see html.rs), and the directory for screenshots.

Each check prints one line; the first failure raises, and the script exits non-zero.
"""

import json
import sys
import time

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what.split("\n")[0])


def open_page(browser, path, errors):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda e: errors.append("page error: %s" % e))
    page.on("console", lambda m: errors.append("console %s: %s" % (m.type, m.text)) if m.type == "error" else None)
    # No network: a request leaving the file would be refused here and shows as an error.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else (
        errors.append("network request: " + route.request.url), route.abort()))
    start = time.monotonic()
    page.goto("file://" + path)
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    return page, time.monotonic() - start


def frame_point(page, flame, name):
    """The centre of the widest frame called `name` in flame graph `flame`, in page pixels."""
    page.locator("#flame-%d canvas" % flame).scroll_into_view_if_needed()
    return page.evaluate(
        """([k, name]) => {
            const f = window.joule.flames[k];
            const i = f.widest(name);
            if (i < 0) return null;
            const r = f.rect(i);
            const b = f.canvas.getBoundingClientRect();
            return {x: b.left + f.canvas.clientLeft + r.x + r.w / 2, y: b.top + f.canvas.clientTop + r.y + r.h / 2, w: r.w, canvas: f.canvas.clientWidth};
        }""",
        [flame, name],
    )


def pixel(page, flame, name):
    """The colour drawn at the centre-left of the widest frame `name` (r, g, b)."""
    return page.evaluate(
        """([k, name]) => {
            const f = window.joule.flames[k];
            const r = f.rect(f.widest(name));
            const d = window.devicePixelRatio || 1;
            const p = f.canvas.getContext('2d').getImageData(Math.round((r.x + 1) * d), Math.round((r.y + r.h - 2) * d), 1, 1).data;
            return [p[0], p[1], p[2]];
        }""",
        [flame, name],
    )


def example_page(browser, case, shots):
    errors = []
    page, _ = open_page(browser, case["example"], errors)
    data = page.evaluate("JSON.parse(document.getElementById('joule-data').textContent)")
    findings = data["report"]["findings"]

    # The table: every finding, sortable, filterable.
    rows = page.locator("#findings-table tbody tr.finding")
    check(rows.count() == len(findings) and len(findings) > 0, "the table has a row per finding (%d)" % len(findings))
    page.click("#findings-table th[data-key='share']")
    shares = [f["impact"].get("sample_share") or -1 for f in findings]
    first = page.locator("#findings-table tbody tr.finding").first.get_attribute("data-id")
    best = max(findings, key=lambda f: (f["impact"].get("sample_share") or -1, -findings.index(f)))
    check(first == best["id"], "sorting by share puts the largest share first")
    page.click("#findings-table th[data-key='share']")
    last = page.locator("#findings-table tbody tr.finding").first.get_attribute("data-id")
    check(
        (findings[[f["id"] for f in findings].index(last)]["impact"].get("sample_share") or -1) == min(shares),
        "sorting again reverses the order",
    )
    page.click("#findings-table th[data-key='rank']")
    page.select_option("#filter-kind", "regression")
    kinds = page.eval_on_selector_all("#findings-table tbody tr.finding .kind", "els => els.map(e => e.textContent)")
    check(kinds and set(kinds) == {"regression"}, "the kind filter shows only regressions (%d)" % len(kinds))
    page.select_option("#filter-kind", "")
    page.select_option("#filter-skill", "hot-functions")
    check(
        rows.count() == sum(1 for f in findings if f["skill"] == "hot-functions"),
        "the skill filter shows only that skill's findings",
    )
    page.select_option("#filter-skill", "")

    # Search: the matched share is the function's cumulative share, as `joule profile top` says.
    fn, expected = case["function"], case["cumulative_share"]
    search = page.locator("#flame-0 .flame-search")
    search.scroll_into_view_if_needed()
    search.fill("^" + fn.replace(":", "\\:").replace("(", "\\(").replace(")", "\\)") + "$")
    matched = float(page.get_attribute("#flame-0", "data-matched"))
    check(abs(matched - expected) < 0.002, "search for %s matches %.4f of the graph (profile top: %.4f)" % (fn, matched, expected))
    check("Matched: " in page.inner_text("#flame-0 .matched"), "the matched share is shown")
    r, g, b = pixel(page, 0, fn)
    check(r > 180 and b > 100 and g < 120, "matched frames are drawn in the search colour (%d,%d,%d)" % (r, g, b))
    search.fill("")

    # Zoom: click the frame, it fills the width; reset.
    p = frame_point(page, 0, fn)
    check(p is not None and p["w"] < p["canvas"], "the frame is drawn, narrower than the graph")
    page.mouse.click(p["x"], p["y"])
    check(page.get_attribute("#flame-0", "data-zoom") == fn, "clicking the frame zooms to it")
    p2 = frame_point(page, 0, fn)
    check(abs(p2["w"] - p2["canvas"]) < 2, "the zoomed frame fills the graph's width")
    # Frame -> finding: the frame's panel links the findings on its function.
    link = page.locator("#flame-0 .frame-findings a[data-id='%s']" % case["finding"])
    check(link.count() == 1, "the clicked frame lists the finding on its function")
    page.screenshot(path=shots + "/zoomed.png")
    page.click("#flame-0 .flame-reset")
    check(page.get_attribute("#flame-0", "data-zoom") == "all", "reset zooms back out")
    link.click()
    check(
        page.locator("#finding-%s.selected" % case["finding"]).count() == 1
        and page.locator("tr.details[data-id='%s']" % case["finding"]).count() == 1,
        "following the link opens and selects the finding",
    )

    # Finding -> frames and source lines.
    details = page.locator("tr.details[data-id='%s']" % case["finding"])
    marked = details.locator(".code .marked").all_inner_texts()
    check(any(case["source_text"] in t for t in marked), "the finding quotes its source line: %r" % marked[:1])
    check(details.locator(".diff .add").count() > 0, "the finding shows its patch as a diff")
    details.locator("button.show-frames").first.click()
    check(int(page.get_attribute("#flame-0", "data-highlighted")) >= 1, "the finding's frames are highlighted")
    r, g, b = pixel(page, 0, fn)
    check((r, g, b) == (26, 115, 232), "the highlighted frame is drawn in the highlight colour (%d,%d,%d)" % (r, g, b))
    page.screenshot(path=shots + "/highlighted.png")

    # A regression's chart: the series, the change point, both levels, the deploys.
    reg = case["regression"]
    chart = page.locator("#chart-" + reg)
    check(chart.count() == 1, "the regression has a chart")
    for part in ["polyline.series", "line.change-point", "line.level-before", "line.level-after"]:
        check(chart.locator(part).count() == 1, "the chart draws its " + part.split(".")[1])
    check(chart.locator("line.deploy").count() == case["deploys_in_range"], "the chart marks the %d deploys in its range" % case["deploys_in_range"])
    x = float(chart.locator("line.change-point").get_attribute("x1"))
    check(64 < x < 948, "the change point lies inside the time axis")
    before = float(chart.locator("line.level-before").get_attribute("y1"))
    after = float(chart.locator("line.level-after").get_attribute("y1"))
    check(after < before, "the level after the regression is drawn higher than before")
    chart.scroll_into_view_if_needed()
    page.screenshot(path=shots + "/chart.png")

    # Patches: each as a diff.
    check(
        page.locator("#patches details.patch").count() == sum(1 for f in findings if f.get("patch")),
        "each patch is listed",
    )
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=shots + "/report.png", full_page=True)
    check(not errors, "no script error, console error or network request: %s" % errors)
    page.close()


def diff_page(browser, case, shots):
    errors = []
    page, _ = open_page(browser, case["diff"], errors)
    titles = page.eval_on_selector_all(".flame h3", "els => els.map(e => e.textContent)")
    check(len(titles) == 3 and titles[2].startswith("Differential"), "two profiles give two graphs and a differential one: %s" % titles)
    grew = case["grew"]
    r, g, b = pixel(page, 2, grew)
    check(r > b + 40, "%s, which grew, is drawn red (%d,%d,%d)" % (grew, r, g, b))
    shrank = case["shrank"]
    r, g, b = pixel(page, 2, shrank)
    check(b > r + 40, "%s, which shrank, is drawn blue (%d,%d,%d)" % (shrank, r, g, b))
    page.locator("#flame-2").scroll_into_view_if_needed()
    page.screenshot(path=shots + "/differential.png")
    check(not errors, "no script error: %s" % errors)
    page.close()


def big_page(browser, path, label, shots, limit_ms):
    errors = []
    page, wall = open_page(browser, path, errors)
    ready = page.evaluate("window.joule.readyAt")
    frames = page.evaluate("window.joule.flames[0].n")
    print("measured: %s: ready %.0f ms after navigation (%.0f ms wall, %d frames)" % (label, ready, wall * 1000, frames))
    check(ready < limit_ms, "%s opens in under %d ms (%.0f ms)" % (label, limit_ms, ready))
    page.fill("#flame-0 .flame-search", "gc")
    check(float(page.get_attribute("#flame-0", "data-matched")) > 0, "%s: search works" % label)
    p = frame_point(page, 0, page.evaluate("window.joule.flames[0].label(1)"))
    page.mouse.click(p["x"], p["y"])
    check(page.get_attribute("#flame-0", "data-zoom") != "all", "%s: zoom works" % label)
    page.screenshot(path=shots + "/" + label + ".png")
    check(not errors, "no script error: %s" % errors)
    page.close()


def hostile_page(browser, case, shots):
    errors = []
    dialogs = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append("page error: %s" % e))
    page.goto("file://" + case["hostile"])
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    data = page.evaluate("JSON.parse(document.getElementById('joule-data').textContent)")
    for f in data["report"]["findings"]:
        page.click("#finding-" + f["id"])
    page.click("#findings-table th[data-key='title']")
    titles = page.eval_on_selector_all("#findings-table tbody tr.finding td:nth-child(4)", "els => els.map(e => e.textContent)")
    check(sorted(titles) == sorted(f["title"] for f in data["report"]["findings"]), "every title is shown as the text the skill gave")
    check(page.locator("img").count() == 0, "no element a skill's text tried to add (img)")
    check(page.locator("script").count() == 2, "no script element but the page's own two")
    page.screenshot(path=shots + "/hostile.png", full_page=True)
    check(not dialogs, "no script a skill wrote ran: %s" % dialogs)
    check(not errors, "no script error: %s" % errors)
    page.close()


def main():
    case = json.load(open(sys.argv[1]))
    shots = sys.argv[2]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=case.get("chromium", "/usr/bin/chromium"), args=CHROMIUM_ARGS)
        example_page(browser, case, shots)
        diff_page(browser, case, shots)
        hostile_page(browser, case, shots)
        for label, path in case["big"]:
            big_page(browser, path, label, shots, 2000)
        browser.close()
    print("all browser checks passed")


if __name__ == "__main__":
    main()
