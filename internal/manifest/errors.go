package manifest

import (
	"strconv"
	"strings"
)

// Error is one problem in a manifest, located precisely.
type Error struct {
	File   string // as given to Parse
	Line   int    // 1-based; 0 if unknown
	Column int    // 1-based; 0 if unknown
	Field  string // dotted path: "routes[1].path", "limits.timeout"; "" for document-level
	Msg    string
}

// Error formats e as "file:line:column: field: message", leaving out the
// parts that are unknown or empty.
func (e *Error) Error() string {
	parts := make([]string, 0, 3)
	if pos := position(e.File, e.Line, e.Column); pos != "" {
		parts = append(parts, pos)
	}
	if e.Field != "" {
		parts = append(parts, e.Field)
	}
	parts = append(parts, e.Msg)
	return strings.Join(parts, ": ")
}

// position formats a location as "file:line:column", dropping unknown parts.
func position(file string, line, column int) string {
	if line <= 0 {
		return file
	}
	pos := strconv.Itoa(line)
	if column > 0 {
		pos += ":" + strconv.Itoa(column)
	}
	if file == "" {
		return pos
	}
	return file + ":" + pos
}

// ErrorList is every problem found, sorted by line. A list cut short at
// MaxErrors ends with an entry, without a line, that says how many more
// problems there were.
type ErrorList []*Error

// Error returns the errors one to a line.
func (l ErrorList) Error() string {
	if len(l) == 0 {
		return "no errors"
	}
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the errors in the list, so that errors.As can extract
// the first *Error from an ErrorList.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}
