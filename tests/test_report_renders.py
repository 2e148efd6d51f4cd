"""`gcsim report` turns a results folder into one page a person reads, and every number on it
is traceable. A small results folder is made with the real commands (fit and plot of synthetic
curves, ppl of the shipped models, two token periods on the calibrated path, the shipped GPU
measurement, the cost of the paper-cubic run); then:
- every number cell of the page names its file and key (title "FILE: KEY (kind)"), and the
  value printed equals that key's value in that file (to the 6 digits printed): the page
  invents nothing and loses no source;
- the page is self-contained (no reference to another file) and headless Chromium renders it:
  the DOM it builds holds the perplexity table and the token-period section, and its
  screenshot is a real image (written beside the page, kept under the test's scratch folder).

usage: test_report_renders.py   (GCSIM, GCSIM_ROOT, GCSIM_DATA from the environment)"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_curves  # noqa: E402
from test_gpt2_ref import env, run  # noqa: E402

GCSIM, ROOT = env("GCSIM"), env("GCSIM_ROOT")
TEXT = os.path.join(env("GCSIM_DATA"), "text", "wikitext2_wiki.test.raw")
MODELS = os.path.join(ROOT, "data", "models")
failures = []


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


class Cells(html.parser.HTMLParser):
    """Collects (title, text) of every <td> with a title, and every src/href."""

    def __init__(self):
        super().__init__()
        self.cells, self.refs, self._cur = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "title" in a:
            self._cur = [a["title"], ""]
        for k in ("src", "href"):
            if k in a:
                self.refs.append(a[k])

    def handle_data(self, data):
        if self._cur is not None:
            self._cur[1] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cur is not None:
            self.cells.append(tuple(self._cur))
            self._cur = None


def make_results(d):
    curves = os.path.join(d, "curves_syn.h5")
    synthetic_curves.write_curves(curves)
    run([GCSIM, "fit", "--curves", curves, "--out", os.path.join(d, "cell_syn.h5"), "--json",
         os.path.join(d, "fit_syn.json")])
    run([GCSIM, "plot", curves, "--out", os.path.join(d, "plots_syn")])
    for name, m in (("software", "softmax"), ("paper-cubic", "paper-cubic")):
        # the analog run also reports its cost: the row shows it, and the cost section
        cost = ["--cost", os.path.join(d, "cost_%s.json" % name)] if m != "softmax" else []
        run([GCSIM, "ppl", "--model", os.path.join(MODELS, "bytes-5x256-" + m), "--text", TEXT,
             "--max-tokens", "1024", "--ctx", "512", "--json",
             os.path.join(d, "ppl_%s.json" % name)] + cost)
    for p in ("1e-7", "1e-3"):
        run([GCSIM, "ppl", "--model", os.path.join(MODELS, "bytes-5x256-paper-linear"), "--text",
             TEXT, "--max-tokens", "1024", "--ctx", "512", "--cell-preset", "paper-cubic",
             "--token-period", p, "--json", os.path.join(d, "ppl_period_%s.json" % p)])


def value_at(obj, key):
    for k in key.split("."):
        obj = obj[k] if isinstance(obj, dict) else obj[int(k)]
    return obj


def check_traceable(d, page, gpu):
    p = Cells()
    p.feed(page)
    nums = [(t, v) for t, v in p.cells if v.strip() != "-"]
    bad = []
    for title, shown in nums:
        m = re.match(r"(.+?): (\S+) \((simulated|measured|declared)\)$", title)
        if not m:
            bad.append(title)
            continue
        f, key = m.group(1), m.group(2)
        path = gpu if f == os.path.basename(gpu) else os.path.join(d, f)
        with open(path) as fh:
            j = json.load(fh)
        if f == os.path.basename(gpu):
            # rows of the GPU table: find the one whose value matches (the file holds a list)
            ok = any(abs(value_at(r, key) - float(shown)) <= 1e-5 * abs(float(shown))
                     for r in j["attention"])
        else:
            want = float("%.6g" % value_at(j, key))
            ok = abs(want - float(shown)) <= 1e-12 * max(1.0, abs(want))
        if not ok:
            bad.append("%s shows %s" % (title, shown))
    expect(len(nums) > 40 and not bad,
           "%d numbers on the page, each equal to its named file and key (bad: %s)"
           % (len(nums), bad[:3]))
    external = [r for r in p.refs if not r.startswith("data:")]
    expect(not external, "self-contained: no reference to another file (%s)" % external[:3])


def render(d, page_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    expect(chromium is not None, "headless Chromium is installed (Debian package chromium)")
    if not chromium:
        return
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--user-data-dir=" + os.path.join(d, "chrome-profile")]
    dom = subprocess.run(base + ["--dump-dom", "file://" + page_path], capture_output=True,
                         text=True, timeout=120).stdout
    expect("bits per byte" in dom and "ppl_software.json" in dom and
           "against the token period" in dom and "NVIDIA" in dom and
           "What a token costs" in dom and "cost_paper-cubic.json" in dom,
           "the rendered DOM holds the perplexity table, the cost section, the token-period "
           "section and the GPU baseline (%d characters)" % len(dom))
    shot = os.path.join(d, "report.png")
    subprocess.run(base + ["--window-size=1280,2000", "--screenshot=" + shot,
                           "file://" + page_path], capture_output=True, timeout=120)
    ok = os.path.exists(shot)
    with open(shot, "rb") as f:
        head = f.read(8) if ok else b""
    expect(ok and head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(shot) > 50000,
           "screenshot %s: %d bytes" % (shot, os.path.getsize(shot) if ok else 0))


with tempfile.TemporaryDirectory() as d:
    make_results(d)
    gpu = os.path.join(ROOT, "data", "gpu", "h100_attention_decode.json")
    page_path = os.path.join(d, "report.html")
    run([GCSIM, "report", "--results", d, "--gpu", gpu])
    with open(page_path) as f:
        page = f.read()
    check_traceable(d, page, gpu)
    render(d, page_path)
    r = run([GCSIM, "report", "--results", d, "--bogus"], expect_ok=False)
    expect(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1,
           "a bad option is one line: " + r.stderr.strip())
if failures:
    sys.exit("FAILED: %s" % failures)
