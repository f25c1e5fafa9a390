package daemon_test

import (
	"bufio"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/testguests"
)

// TestConsoleLive follows the console's live tail through the daemon: a
// call and a refusal made at the gateway arrive as server-sent events,
// with nothing secret in them, and the stream ends when the session
// does. The attack-surface map shows the deployed route.
func TestConsoleLive(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	key := n.key("ci", "hello")
	tokenBytes, err := os.ReadFile(n.cfg.AdminTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tokenBytes))
	b := n.consoleBrowser(t)
	if r := b.login(token); r.status != http.StatusSeeOther {
		t.Fatalf("login = %d %s", r.status, r.body)
	}

	req, _ := http.NewRequest("GET", b.base+"/ui/live/events?function=hello", nil)
	streamClient := *b.c
	streamClient.Timeout = 0
	resp, err := streamClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live events = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// next returns the next event's name and data, skipping comments.
	next := func(within time.Duration) (event, data string) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("the stream ended after %s %s", event, data)
				}
				switch {
				case line == "" && event != "":
					return event, data
				case strings.HasPrefix(line, "event: "):
					event = strings.TrimPrefix(line, "event: ")
				case strings.HasPrefix(line, "data: "):
					data = strings.TrimPrefix(line, "data: ")
				}
			case <-deadline:
				t.Fatalf("no event within %s", within)
			}
		}
	}

	ok := n.call("GET", "/hello", key, nil)
	if ok.status != 200 {
		t.Fatalf("GET /hello = %d", ok.status)
	}
	if r := n.call("GET", "/hello", "", nil); r.status != 401 {
		t.Fatalf("GET /hello without a key = %d", r.status)
	}
	seen := map[string]string{}
	for len(seen) < 2 {
		ev, data := next(15 * time.Second)
		if ev != "call" {
			t.Fatalf("event %s %s", ev, data)
		}
		for _, outcome := range []string{"ok", "refused"} {
			if strings.Contains(data, `"outcome":"`+outcome+`"`) {
				seen[outcome] = data
			}
		}
		if strings.Contains(data, token) || strings.Contains(data, key) {
			t.Errorf("a live event carries the admin token or the API key: %s", data)
		}
	}
	if !strings.Contains(seen["ok"], ok.header.Get("X-Request-Id")) || !strings.Contains(seen["ok"], `"caller":"key:ci"`) {
		t.Errorf("the call's event: %s", seen["ok"])
	}
	if !strings.Contains(seen["refused"], `"code":"unauthenticated"`) {
		t.Errorf("the refusal's event: %s", seen["refused"])
	}

	page := b.do("GET", "/ui/map", nil, nil)
	for _, want := range []string{"<svg", ">api-key GET /hello<", `href="/ui/functions/hello"`} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("the map does not show %q", want)
		}
	}

	csrf := consoleCSRF.FindSubmatch(page.body)
	if csrf == nil {
		t.Fatal("no CSRF token on the map page")
	}
	if r := b.do("POST", "/ui/logout", url.Values{"csrf": {string(csrf[1])}}, nil); r.status != http.StatusSeeOther {
		t.Fatalf("logout = %d", r.status)
	}
	if ev, data := next(15 * time.Second); ev != "end" || !strings.Contains(data, "session has ended") {
		t.Errorf("after the logout: %s %s", ev, data)
	}
}
