package browser

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// accessibility is the check every main page passes, run in the page: each
// field has a label, each button and link a name, each image its alt
// text; one h1, a language, no duplicate ids, nothing taken out of the
// keyboard's tab order, nothing wider than the phone-sized window (420
// px), and text at a contrast of 4.5:1 at least against its background
// (WCAG 2 AA). It returns what fails.
const accessibility = `(() => {
  const problems = [];
  const named = el => (el.getAttribute("aria-label") || el.textContent || el.value || "").trim() !== "";
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (el.labels.length === 0 && !el.getAttribute("aria-label")) problems.push("a field without a label: " + (el.id || el.name));
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (!named(el)) problems.push("a " + el.tagName.toLowerCase() + " without a name");
  }
  for (const el of document.querySelectorAll("img")) {
    if (!el.alt) problems.push("an image without alt text: " + el.src);
  }
  if (!document.documentElement.lang) problems.push("no language");
  if (document.querySelectorAll("h1").length !== 1) problems.push(document.querySelectorAll("h1").length + " h1s");
  const ids = new Set();
  for (const el of document.querySelectorAll("[id]")) {
    if (ids.has(el.id)) problems.push("a duplicate id: " + el.id);
    ids.add(el.id);
  }
  for (const el of document.querySelectorAll("[tabindex]")) {
    if (el.tabIndex < 0) problems.push("out of the tab order: " + (el.id || el.tagName));
  }
  if (document.documentElement.scrollWidth > window.innerWidth) {
    problems.push("wider than the window: " + document.documentElement.scrollWidth + " > " + window.innerWidth);
  }
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c;
    }
    return [255, 255, 255];
  };
  for (const el of document.querySelectorAll("p, label, a, button, td, th, h1, h2, li, span, strong, code, legend")) {
    if (el.offsetParent === null || el.textContent.trim() === "") continue;
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) problems.push("contrast " + ratio.toFixed(2) + ":1 of " + el.tagName.toLowerCase() + " " + JSON.stringify(el.textContent.trim().slice(0, 30)));
  }
  return problems;
})()`

// checkAccessible fails the test with what the page does not pass.
func checkAccessible(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if problems := get(t, ctx, "accessibility of "+name, chromedp.Evaluate[[]string](accessibility)); len(problems) > 0 {
		t.Errorf("the %s page: %q", name, problems)
	}
}
