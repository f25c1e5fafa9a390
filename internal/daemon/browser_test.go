// The browser test is left out of race builds: the race detector slows
// the daemon under it several times over, and TestConsole, which runs
// with the detector, goes through the same console code. make check runs
// it in a build without the detector (see the Makefile's test target).

//go:build !race

package daemon_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/pave-dev/pave/internal/browsertest"
	"github.com/pave-dev/pave/internal/testguests"
)

// envScreenshots names the directory TestConsoleInBrowser writes a
// screenshot of each page to (`make screenshots`); unset, it writes none.
const envScreenshots = "PAVE_SCREENSHOTS"

// TestConsoleInBrowser drives the web console in a headless Chromium:
// signs in with the admin token, walks every page the navigation links to,
// finds a deployed function and its call, revokes a key and sees the
// gateway refuse it. On every page it checks the accessibility tree (a name
// for every control and link, headings in order), the contrast of its
// text, and the keyboard (Tab
// reaches every link and control in document order, each visibly
// focused); over the whole visit, that every document carried the
// Content-Security-Policy and that the browser asked no other origin for
// anything. It skips, saying why, where there is no Chromium.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon and a browser; skipped with -short")
	}
	t.Parallel()
	b := browsertest.New(t)
	n := start(t, "")
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	key := n.key("ci", "hello")
	ok := n.call("GET", "/hello", key, nil)
	if ok.status != 200 {
		t.Fatalf("GET /hello = %d", ok.status)
	}
	if r := n.call("GET", "/hello", "", nil); r.status != 401 {
		t.Fatalf("GET /hello without a key = %d", r.status)
	}
	tokenBytes, err := os.ReadFile(n.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tokenBytes))
	origin := n.d.AdminURL()
	shots := os.Getenv(envScreenshots)
	visited := map[string]bool{}
	visit := func(name string) {
		t.Helper()
		visited[name] = true
		if shots != "" { // before the keyboard moves the focus and scrolls
			png, err := chromedp.Run(b.Ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatalf("screenshot of %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		checkAccessibility(t, b, name)
		checkContrast(t, b, name)
		checkKeyboard(t, b, name)
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(b.Ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(loc, origin)
	}

	// Without a session, the console sends the browser to the login.
	b.Do(t, chromedp.Navigate(origin+"/ui/"))
	if loc := location(); loc != "/ui/login" {
		t.Fatalf("the console without a session is at %s", loc)
	}
	visit("login")
	b.Do(t, chromedp.SendKeys(chromedp.CSS("#token"), token))
	if _, err := chromedp.RunResponse(b.Ctx, chromedp.Click(chromedp.CSS("form.login button"))); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	if loc := location(); loc != "/ui/" {
		t.Fatalf("signed in, the browser is at %s: %s", loc, browsertest.Eval[string](t, b, `document.body.textContent`))
	}

	// Every page the navigation links to, as it links to them.
	links := browsertest.Eval[[]string](t, b, `[...document.querySelectorAll("nav a")].map(a => a.getAttribute("href"))`)
	if len(links) < 2 {
		t.Fatalf("the navigation links to %v", links)
	}
	for _, link := range links {
		resp, err := chromedp.Run(b.Ctx, chromedp.NavigateResponse(origin+link))
		if err != nil {
			t.Fatalf("%s: %v", link, err)
		}
		if resp.Status != http.StatusOK {
			t.Errorf("%s = %d", link, resp.Status)
			continue
		}
		name := strings.Trim(strings.TrimPrefix(link, "/ui/"), "/")
		if name == "" {
			name = "overview"
		}
		visit(strings.ReplaceAll(name, "/", "-"))
	}

	// The function, from the inventory, with its call (the invocation
	// history is written in batches: reload until it is there).
	b.Do(t, chromedp.Navigate(origin+"/ui/functions"))
	if _, err := chromedp.RunResponse(b.Ctx, chromedp.Click(chromedp.CSS(`main a[href="/ui/functions/hello"]`))); err != nil {
		t.Fatalf("following the function's link: %v", err)
	}
	requestID := ok.header.Get("X-Request-Id")
	for deadline := time.Now().Add(15 * time.Second); ; {
		text := browsertest.Eval[string](t, b, `document.querySelector("main").textContent`)
		if strings.Contains(text, requestID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the function's page does not show the call %s: %s", requestID, text)
		}
		time.Sleep(200 * time.Millisecond)
		b.Do(t, chromedp.Reload())
	}
	visit("function")

	// Revoking a key: the link, the confirmation, the button; then the
	// gateway refuses the key.
	b.Do(t, chromedp.Navigate(origin+"/ui/keys"))
	if _, err := chromedp.RunResponse(b.Ctx, chromedp.Click(chromedp.CSS(`main a[href="/ui/keys/ci/revoke"]`))); err != nil {
		t.Fatalf("following the revoke link: %v", err)
	}
	visit("revoke")
	if _, err := chromedp.RunResponse(b.Ctx, chromedp.Click(chromedp.CSS(`main form button`))); err != nil {
		t.Fatalf("confirming the revoke: %v", err)
	}
	if loc := location(); loc != "/ui/keys" {
		t.Errorf("after the revoke, the browser is at %s", loc)
	}
	if text := browsertest.Eval[string](t, b, `document.querySelector("main tbody").textContent`); !strings.Contains(text, "revoked") {
		t.Errorf("the keys page after the revoke: %s", text)
	}
	if r := n.call("GET", "/hello", key, nil); r.status != 401 && r.status != 403 {
		t.Errorf("the revoked key = %d, want a refusal", r.status)
	}

	for _, want := range []string{"login", "overview", "functions", "function", "revoke"} {
		if !visited[want] {
			t.Errorf("the walk did not reach the %s page", want)
		}
	}
	docs := b.Documents("Content-Security-Policy")
	if len(docs) < len(visited) {
		t.Errorf("the browser received %d documents for %d pages", len(docs), len(visited))
	}
	for u, csp := range docs {
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: Content-Security-Policy %q", u, csp)
		}
	}
	if foreign := b.ForeignRequests(origin); len(foreign) > 0 {
		t.Errorf("the browser asked other origins than %s: %v", origin, foreign)
	}
	if b.Requests() == 0 {
		t.Error("no requests recorded")
	}
}

// controlRoles are the roles of the accessibility tree a user acts on:
// each needs a name.
var controlRoles = map[string]bool{
	"link": true, "button": true, "textbox": true, "searchbox": true, "combobox": true, "listbox": true,
	"checkbox": true, "radio": true, "spinbutton": true, "slider": true, "switch": true, "menuitem": true,
}

// checkAccessibility checks the page's accessibility tree: every link and
// form control has a name, the first heading is a level-1 one and no
// heading skips a level down.
func checkAccessibility(t *testing.T, b *browsertest.Browser, page string) {
	t.Helper()
	level, controls := 0, 0
	for _, n := range b.AXTree(t) {
		if controlRoles[n.Role] {
			controls++
			if strings.TrimSpace(n.Name) == "" {
				t.Errorf("%s: a %s without an accessible name", page, n.Role)
			}
		}
		if n.Role == "heading" {
			switch {
			case level == 0 && n.Level != 1:
				t.Errorf("%s: the first heading, %q, is of level %d", page, n.Name, n.Level)
			case n.Level > level+1:
				t.Errorf("%s: the heading %q, of level %d, follows one of level %d", page, n.Name, n.Level, level)
			}
			level = n.Level
		}
	}
	if level == 0 || controls == 0 {
		t.Errorf("%s: the accessibility tree has %d controls and no heading", page, controls)
	}
}

// lowContrast lists the visible text whose colour against its background
// is below WCAG's AA ratio: 4.5, or 3 for large text (24px, or 18.66px
// bold). The background is the nearest opaque one of the element or its
// ancestors; SVG text (the charts' labels) is left out.
const lowContrast = `(() => {
	const rgb = s => { const m = s.match(/[\d.]+/g) || ["0","0","0","0"]; return m.map(Number).concat(m.length < 4 ? [1] : []); };
	const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
		return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
	const background = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c[3] > 0.5) return c; } return [255, 255, 255, 1]; };
	const out = [];
	for (const e of document.querySelectorAll("body *")) {
		if (e.closest("svg") || e.getClientRects().length === 0) continue;
		if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim() !== "")) continue;
		const s = getComputedStyle(e);
		if (s.visibility === "hidden" || parseFloat(s.opacity) === 0) continue;
		const fg = rgb(s.color), bg = background(e);
		const mix = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
		const [a, b] = [lum(mix), lum(bg)];
		const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
		const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
		if (ratio < need) out.push(e.tagName.toLowerCase() + (e.className ? "." + e.className : "") + " " + JSON.stringify(e.textContent.trim().slice(0, 30)) + " " + ratio.toFixed(2) + " < " + need);
	}
	return out;
})()`

// checkContrast fails for the text of the page that lowContrast finds.
func checkContrast(t *testing.T, b *browsertest.Browser, page string) {
	t.Helper()
	for _, low := range browsertest.Eval[[]string](t, b, lowContrast) {
		t.Errorf("%s: text of low contrast: %s", page, low)
	}
}

// focusables lists, in document order, the elements the keyboard should
// reach, into window.paveFocusables; it returns how many there are and how
// many carry a positive tabindex (which would reorder them).
const focusables = `(() => {
	const sel = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
	window.paveFocusables = [...document.querySelectorAll(sel)].filter(e => e.getClientRects().length > 0 && !e.closest("[hidden]"));
	const start = window.paveFocusables.indexOf(document.activeElement);
	const positive = [...document.querySelectorAll("[tabindex]")].filter(e => e.tabIndex > 0).length;
	return [window.paveFocusables.length, start, positive];
})()`

// focused describes the focused element: its place in paveFocusables and
// whether the focus shows (an outline).
const focused = `(() => {
	const e = document.activeElement;
	const s = getComputedStyle(e);
	return {index: window.paveFocusables.indexOf(e), visible: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0,
		what: e.tagName.toLowerCase() + " " + (e.textContent || e.name || e.id || "").trim().slice(0, 40)};
})()`

type focusState struct {
	Index   int    `json:"index"`
	Visible bool   `json:"visible"`
	What    string `json:"what"`
}

// checkKeyboard presses Tab through the page: each press moves the focus
// to the next element in document order, and the focus is visible. Where
// the page focuses an element itself (autofocus), Shift+Tab goes back from
// it to the first.
func checkKeyboard(t *testing.T, b *browsertest.Browser, page string) {
	t.Helper()
	counts := browsertest.Eval[[3]int](t, b, focusables)
	total, start, positive := counts[0], counts[1], counts[2]
	if positive > 0 {
		t.Errorf("%s: %d elements with a positive tabindex", page, positive)
	}
	if total == 0 {
		t.Errorf("%s: nothing to reach with the keyboard", page)
		return
	}
	press := func(want int, opts ...chromedp.KeyOption) bool {
		b.Do(t, chromedp.KeyEvent(kb.Tab, opts...))
		got := browsertest.Eval[focusState](t, b, focused)
		if got.Index != want {
			t.Errorf("%s: a Tab focused element %d (%s), want %d", page, got.Index, got.What, want)
			return false
		}
		if !got.Visible {
			t.Errorf("%s: %s shows no focus", page, got.What)
		}
		return true
	}
	for i := start + 1; i < total; i++ {
		if !press(i) {
			return
		}
	}
	if start > 0 {
		browsertest.Eval[bool](t, b, fmt.Sprintf("window.paveFocusables[%d].focus(), true", start))
		for i := start - 1; i >= 0; i-- {
			if !press(i, chromedp.KeyModifiers(chromedp.ModifierShift)) {
				return
			}
		}
	}
}
