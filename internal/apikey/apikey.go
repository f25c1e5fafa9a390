// Package apikey holds the rules of API key names and scopes, in one
// place for the key store, which enforces them, and the manifest and app
// file decoders, which check them early to report the line.
package apikey

import (
	"regexp"
	"strings"
)

var (
	namePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	scopePattern = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
)

// ValidName reports whether s may name a key: 1 to 63 of a-z, 0-9, '.',
// '_' and '-', starting with a letter or digit. Console user names follow
// the same rule.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// ValidScope reports whether s may be a scope: 1 to 128 printable ASCII
// characters, without spaces, quotes or backslashes.
func ValidScope(s string) bool { return scopePattern.MatchString(s) && !strings.ContainsAny(s, `"\`) }
