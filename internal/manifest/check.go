package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The checks below validate one string value each. Their errors become the
// message of an *Error, which already names the field, so they describe
// the value and the rule rather than the field.

var (
	namePattern  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	ownerPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)
)

const maxDescriptionLength = 1024 // characters

// methods are the HTTP methods a route may use.
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func checkName(s string) error {
	if !namePattern.MatchString(s) {
		return fmt.Errorf("invalid name %s: use 1 to 63 lowercase letters, digits and '-', starting with a letter", quote(s))
	}
	return nil
}

func checkOwner(s string) error {
	if !ownerPattern.MatchString(s) {
		return fmt.Errorf("invalid owner %s: use 1 to 128 letters, digits, '.', '_', '@' and '-', starting with a letter or digit", quote(s))
	}
	return nil
}

func checkDescription(s string) error {
	if n := utf8.RuneCountInString(s); n > maxDescriptionLength {
		return fmt.Errorf("description is %d characters long; the maximum is %d", n, maxDescriptionLength)
	}
	return nil
}

func checkModule(s string) error {
	switch {
	case s == "":
		return errors.New("module is empty; leave it out to build the Go package in the manifest's directory")
	case strings.ContainsRune(s, 0):
		return errors.New("module contains a NUL byte")
	}
	return nil
}

// runtimes are the values of runtime.
var runtimes = []string{RuntimeGo, RuntimeJS}

func checkRuntime(s string) error {
	if !slices.Contains(runtimes, s) {
		return fmt.Errorf("unsupported runtime %s: use one of %s", quote(s), strings.Join(runtimes, ", "))
	}
	return nil
}

// mainExtensions are the file name extensions of a JavaScript function's
// entry point.
var mainExtensions = []string{".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"}

// checkMain accepts a JavaScript or TypeScript file inside the function's
// directory: a relative, slash-separated path without empty, "." or ".."
// segments.
func checkMain(s string) error {
	switch {
	case s == "":
		return errors.New("main is empty; name the entry point, such as src/index.ts")
	case len(s) > MaxMainLength:
		return fmt.Errorf("main is %d bytes long; the maximum is %d", len(s), MaxMainLength)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }):
		return fmt.Errorf("main %s contains a control character, a backslash or invalid UTF-8; separate directories with /", quote(s))
	case strings.HasPrefix(s, "/"):
		return fmt.Errorf("main %s is absolute; give a path relative to the manifest's directory", quote(s))
	}
	for seg := range strings.SplitSeq(s, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("main %s has an empty, \".\" or \"..\" segment; give a path inside the function's directory", quote(s))
		}
	}
	if !slices.ContainsFunc(mainExtensions, func(ext string) bool { return strings.HasSuffix(s, ext) }) {
		return fmt.Errorf("main %s is not a JavaScript or TypeScript file: its name ends in one of %s", quote(s), strings.Join(mainExtensions, ", "))
	}
	return nil
}

// checkMethod accepts a method in any case; the caller upper-cases it.
func checkMethod(s string) error {
	for _, m := range methods {
		// The length test keeps the folding to ASCII: strings.EqualFold
		// also folds non-ASCII letters such as 'ſ' onto 's', but they are
		// longer than one byte.
		if len(s) == len(m) && strings.EqualFold(s, m) {
			return nil
		}
	}
	return fmt.Errorf("unsupported method %s: use one of %s", quote(s), strings.Join(methods, ", "))
}

func checkAuth(s string) error {
	if !slices.Contains(authSchemes, s) {
		return fmt.Errorf("unsupported auth %s: use one of %s; to open a route to everyone, set public: true instead", quote(s), strings.Join(authSchemes, ", "))
	}
	return nil
}

// checkRoutePath checks a path's syntax and that the platform has not
// reserved it.
func checkRoutePath(s string) error {
	segs, err := ParsePath(s)
	if err != nil {
		return err
	}
	if prefix := reservedPrefix(segs); prefix != "" {
		return fmt.Errorf("path %s is under %s, which is reserved for the platform", quote(s), prefix)
	}
	return nil
}

// formatInt formats n in decimal.
func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

// parseDuration parses Go duration syntax: "500ms", "10s", "2m".
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %s: use a number with a unit, such as \"500ms\", \"10s\" or \"2m\"", quote(s))
	}
	return d, nil
}

// durationUnits are the units formatDuration uses, largest first.
var durationUnits = []struct {
	suffix string
	size   time.Duration
}{
	{"s", time.Second},
	{"ms", time.Millisecond},
	{"µs", time.Microsecond},
	{"ns", time.Nanosecond},
}

// formatDuration formats d in the largest of s, ms, µs and ns that
// divides it exactly, so that bounds read "900s" rather than "15m0s".
func formatDuration(d time.Duration) string {
	for _, u := range durationUnits {
		if d != 0 && d%u.size == 0 {
			return strconv.FormatInt(int64(d/u.size), 10) + u.suffix
		}
	}
	return "0s"
}

// quote quotes s for a message, cutting long values short so that one bad
// value cannot swamp the report.
func quote(s string) string {
	const limit = 64 // characters
	if utf8.RuneCountInString(s) <= limit {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:limit])) + "…"
}
