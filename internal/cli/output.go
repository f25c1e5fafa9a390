package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pave-dev/pave/client"
)

// Output formats of --format. A command's first format is its default;
// formatText and formatTable both name the format for people, whichever
// the command calls it.
const (
	formatTable = "table"
	formatText  = "text"
	formatJSON  = "json"
)

// formatFlag defines --format, one spelling for every command, whose
// values are formats (the first is the default), and --json, kept as a
// deprecated alias of --format json. It returns a function that, after
// parse, returns the format chosen, noting on stderr that --json is
// deprecated when it was used.
func (inv *invocation) formatFlag(formats ...string) func() (string, error) {
	value := inv.fs.String("format", formats[0], "output `FORMAT`: "+strings.Join(formats, ", "))
	asJSON := inv.fs.Bool("json", false, "the same as --format json (deprecated)")
	return func() (string, error) {
		f := *value
		if f == formatText || f == formatTable {
			// The format for people, by either name.
			if i := slices.IndexFunc(formats, func(g string) bool { return g == formatText || g == formatTable }); i >= 0 {
				f = formats[i]
			}
		}
		if !slices.Contains(formats, f) {
			return "", inv.usageErrorf("--format %q: want %s", *value, strings.Join(formats, ", "))
		}
		if *asJSON {
			if f != formats[0] && f != formatJSON {
				return "", inv.usageErrorf("--json is --format json, not --format %s", f)
			}
			fmt.Fprintln(inv.stderr, "pave: --json is deprecated; use --format json")
			return formatJSON, nil
		}
		return f, nil
	}
}

// newTable returns a writer that aligns tab-separated columns; Flush it
// when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// formatTime formats a time for tables: RFC 3339, or "never" for none.
func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

// formatSize formats a byte count in the largest binary unit that keeps
// it at or above 1: "512 B", "64 KiB", "2.5 MiB".
func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + []string{"KiB", "MiB", "GiB", "TiB"}[i]
}

// shortDigest abbreviates "sha256:<64 hex>" to its first 12 hex digits,
// which is plenty to tell versions apart.
func shortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12]
}

// formatRoute formats a route as "GET /hello".
func formatRoute(r client.Route) string { return r.Method + " " + r.Path }

// routeAccess says who may call a route: "public" or its auth scheme.
func routeAccess(r client.Route) string {
	switch {
	case r.Public:
		return "public"
	case r.Auth != "":
		return r.Auth
	default:
		return "authenticated"
	}
}

// printRoutes prints a function's routes, one an indented line.
func printRoutes(w io.Writer, routes []client.Route) error {
	tw := newTable(w)
	for _, r := range routes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.Method, r.Path, routeAccess(r))
	}
	return tw.Flush()
}

// yesNo formats a boolean for a table.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// characters that are safe bare.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(c rune) bool {
		return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.ContainsRune("-_./:=@,+%", c))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isTerminal reports whether w is a terminal rather than a file or pipe.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
