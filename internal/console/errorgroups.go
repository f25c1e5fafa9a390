package console

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/pave-dev/pave/internal/observe"
)

// errorGroup is one kind of failure of a function: the calls whose
// error code and normalised message are the same.
type errorGroup struct {
	Code    string
	Kind    string // the message with its numbers, ids and quoted values replaced
	Count   int
	Last    observe.Record
	Example string // the last call's message as it was
}

// maxErrorGroups bounds the kinds kept for one function; failures of
// other kinds beyond it are counted in the last line, "other".
const maxErrorGroups = 50

// errorGroups groups a function's failed calls by similarity.
type errorGroups struct {
	byKey map[string]*errorGroup
	other *errorGroup
}

func newErrorGroups() *errorGroups { return &errorGroups{byKey: map[string]*errorGroup{}} }

// failed reports whether r is a call that failed, rather than one that
// succeeded or was refused before its function ran.
func failed(r observe.Record) bool {
	_, refused := observe.RefusalReason(r.Code)
	return !refused && (r.Code != "" || r.Status >= 500)
}

// failureMessage is what a failed call said of its failure: its last
// error line, or its last line of any level, or nothing.
func failureMessage(r observe.Record) string {
	msg := ""
	for _, l := range r.Logs {
		if l.Level == "error" || msg == "" {
			msg = l.Msg
		}
	}
	return msg
}

func (g *errorGroups) add(r observe.Record) {
	if !failed(r) {
		return
	}
	msg := failureMessage(r)
	kind := normaliseError(msg)
	key := r.Code + "\x00" + kind
	eg, ok := g.byKey[key]
	if !ok {
		if len(g.byKey) >= maxErrorGroups {
			if g.other == nil {
				g.other = &errorGroup{Code: "other", Kind: "failures of other kinds"}
			}
			eg = g.other
		} else {
			eg = &errorGroup{Code: r.Code, Kind: kind}
			g.byKey[key] = eg
		}
	}
	eg.Count++
	if !r.Time.Before(eg.Last.Time) {
		eg.Last, eg.Example = r, msg
	}
}

// list is the groups, the most frequent first.
func (g *errorGroups) list() []errorGroup {
	out := make([]errorGroup, 0, len(g.byKey)+1)
	for _, eg := range g.byKey {
		out = append(out, *eg)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Code+out[i].Kind < out[j].Code+out[j].Kind
	})
	if g.other != nil {
		out = append(out, *g.other)
	}
	return out
}

// Patterns of normaliseError, applied in order: quoted values, then ids
// (UUIDs, long hexadecimal or base64-looking tokens), then numbers.
var (
	quotedValue = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	uuidValue   = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	hexValue    = regexp.MustCompile(`(?i)\b(?:0x)?[0-9a-f]*[0-9][0-9a-f]*(?:\.[0-9]+)?\b`)
	tokenValue  = regexp.MustCompile(`\b[A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*[A-Za-z][A-Za-z0-9_-]*\b|\b[A-Za-z][A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*\b`)
	numberValue = regexp.MustCompile(`[0-9]+(?:\.[0-9]+)?`)
)

// maxKind bounds a normalised message.
const maxKind = 200

// normaliseError reduces an error message to its kind: quoted values
// become "…", ids and words with digits in them <id>, numbers <n>.
func normaliseError(msg string) string {
	msg = cut(msg, 4*maxKind, "")
	s := quotedValue.ReplaceAllString(msg, `"…"`)
	s = uuidValue.ReplaceAllString(s, "<id>")
	s = hexValue.ReplaceAllStringFunc(s, func(v string) string {
		if strings.Trim(v, "0123456789") == "" || strings.Trim(v, "0123456789.") == "" {
			return "<n>"
		}
		return "<id>"
	})
	s = tokenValue.ReplaceAllString(s, "<id>")
	s = numberValue.ReplaceAllString(s, "<n>")
	s = strings.Join(strings.Fields(s), " ")
	return cut(s, maxKind, "…")
}

// cut shortens s to at most n bytes, on a character boundary, and adds
// more when it did.
func cut(s string, n int, more string) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + more
}
