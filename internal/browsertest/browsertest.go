// Package browsertest drives a headless Chromium through the DevTools
// protocol (chromedp) for the tests of the web console. Only tests import
// it, so pave's binary does not carry chromedp.
//
// The browser is Debian's chromium, which scripts/browser.sh installs
// where the machine allows it; PAVE_CHROMIUM names another binary. A test
// skips, saying what is missing, when there is none.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Width and Height are the viewport's size, so that screenshots are
// comparable from one run to the next.
const Width, Height = 1200, 800

// Executable returns the Chromium binary to run: PAVE_CHROMIUM, else the
// first of chromium, chromium-browser, google-chrome on PATH.
func Executable() (string, error) {
	if p := os.Getenv("PAVE_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on PATH and PAVE_CHROMIUM unset: install Debian's chromium (scripts/browser.sh does, as root or with password-less sudo)")
}

// Browser is one headless Chromium with one tab, and every request the
// tab made and every document response it received.
type Browser struct {
	Ctx context.Context

	mu        sync.Mutex
	requests  []string
	documents map[string]network.Headers
}

// New starts a headless Chromium for t, stopped when t ends; t is skipped
// when there is no Chromium to start. The browser reaches nothing on its
// own: no background networking, component updates, sync or QUIC.
func New(t testing.TB) *Browser {
	t.Helper()
	exe, err := Executable()
	if err != nil {
		t.Skipf("the browser test needs headless Chromium: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(Width, Height),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
	}
	if os.Geteuid() == 0 {
		// Chromium's sandbox refuses to run as root; the pages are the
		// test's own.
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	b := &Browser{Ctx: ctx, documents: map[string]network.Headers{}}
	err = chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, ev.Request.URL)
		case *network.EventResponseReceived:
			if ev.Type == network.ResourceTypeDocument {
				b.documents[ev.Response.URL] = ev.Response.Headers
			}
		}
	})
	if err == nil {
		_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.EmulateViewport(Width, Height))
	}
	if err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return b
}

// Do runs steps in the tab, failing t on error.
func (b *Browser) Do(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.Ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// Eval evaluates a JavaScript expression in the page, failing t on error.
func Eval[T any](t testing.TB, b *Browser, expression string) T {
	t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.Fatalf("%s: %v", expression, err)
	}
	return v
}

// ForeignRequests returns the requests made so far to an origin other
// than origin (scheme://host:port).
func (b *Browser) ForeignRequests(origin string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, r := range b.requests {
		u, err := url.Parse(r)
		if err != nil || u.Scheme+"://"+u.Host != origin {
			out = append(out, r)
		}
	}
	return out
}

// Requests returns how many requests the tab has made.
func (b *Browser) Requests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.requests)
}

// Documents returns, for each document the tab received, the value of
// its response header h ("" when it had none).
func (b *Browser) Documents(h string) map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]string{}
	for u, hs := range b.documents {
		out[u] = ""
		for k, v := range hs {
			if strings.EqualFold(k, h) {
				out[u] = fmt.Sprint(v)
			}
		}
	}
	return out
}

// AXNode is a node of the accessibility tree, reduced to what the tests
// check.
type AXNode struct {
	Role, Name string
	Level      int // a heading's
}

// AXTree returns the page's accessibility tree in document order, without
// the nodes Chromium ignores.
func (b *Browser) AXTree(t testing.TB) []AXNode {
	t.Helper()
	res, err := chromedp.Call(b.Ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatalf("the accessibility tree: %v", err)
	}
	nodes := res.Nodes
	byID := map[accessibility.NodeID]*accessibility.Node{}
	for _, n := range nodes {
		byID[n.NodeID] = n
	}
	var out []AXNode
	var walk func(*accessibility.Node)
	walk = func(n *accessibility.Node) {
		if !n.Ignored {
			a := AXNode{Role: axString(n.Role), Name: axString(n.Name)}
			for _, p := range n.Properties {
				if p.Name == accessibility.PropertyNameLevel && p.Value != nil {
					_ = json.Unmarshal(p.Value.Value, &a.Level)
				}
			}
			out = append(out, a)
		}
		for _, id := range n.ChildIDs {
			if c := byID[id]; c != nil {
				walk(c)
			}
		}
	}
	for _, n := range nodes {
		if n.ParentID == "" {
			walk(n)
		}
	}
	return out
}

func axString(v *accessibility.Value) string {
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.Value, &s) != nil {
		return string(v.Value)
	}
	return s
}
