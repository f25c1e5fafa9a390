//go:build !wasip1

package pave

import (
	"bytes"
	"strings"
	"testing"
)

// captureLog collects the log lines written during the test.
func captureLog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old := logOutput
	logOutput = &buf
	t.Cleanup(func() { logOutput = old })
	return &buf
}

func TestLog(t *testing.T) {
	buf := captureLog(t)
	Debugf("d %d", 1)
	Infof("i %s", "x")
	Warnf("w")
	Errorf("e\n")
	Log(Level(-5), "low")
	Log(Level(9), "high")
	want := "pave debug: d 1\npave info: i x\npave warn: w\npave error: e\n" +
		"pave debug: low\npave error: high\n"
	if got := buf.String(); got != want {
		t.Errorf("log output:\n%s\nwant:\n%s", got, want)
	}
}

func TestLogTruncates(t *testing.T) {
	buf := captureLog(t)
	// "é" is two bytes: a cut at maxLogLine would split one.
	Log(LevelInfo, "x"+strings.Repeat("é", maxLogLine))
	line := strings.TrimSuffix(strings.TrimPrefix(buf.String(), "pave info: "), "\n")
	if len(line) != maxLogLine-1 || !strings.HasSuffix(line, "é") {
		t.Errorf("logged %d bytes ending in %q, want %d bytes cut at a rune boundary", len(line), line[len(line)-4:], maxLogLine-1)
	}
}

func TestLevelString(t *testing.T) {
	for l, want := range map[Level]string{LevelDebug: "debug", LevelInfo: "info", LevelWarn: "warn", LevelError: "error", 7: "Level(7)"} {
		if got := l.String(); got != want {
			t.Errorf("Level(%d).String() = %q, want %q", int(l), got, want)
		}
	}
}

func TestJSONFailure(t *testing.T) {
	buf := captureLog(t)
	got := JSON(200, map[string]any{"c": make(chan int)})
	if got.Status != 500 || got.Header.Get("Content-Type") != "application/json" ||
		string(got.Body) != `{"error":"internal error"}`+"\n" {
		t.Errorf("JSON of an unencodable value = %d %v %q", got.Status, got.Header, got.Body)
	}
	if !strings.HasPrefix(buf.String(), "pave error: pave: encoding JSON response: json: unsupported type") {
		t.Errorf("log output = %q, want the encoding error", buf.String())
	}
}

func TestCallLogsNothingOnSuccess(t *testing.T) {
	buf := captureLog(t)
	setHandler(t, func(*Request) (*Response, error) { return Text(200, "ok"), nil })
	if _, err := Call(nil); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("log output = %q, want none", buf.String())
	}
}
