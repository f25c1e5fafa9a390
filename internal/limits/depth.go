package limits

import (
	"errors"
	"fmt"
	"strconv"
)

// HeaderCallDepth carries the depth of a function-to-function call: absent
// on a call from outside, 1 on a call made by a function invoked from
// outside, and so on. pave sets it on the calls a function makes through
// the host API. A value sent by an outside client can only make its own
// chain stop sooner: sending 0 or nothing is the same as an ordinary call.
const HeaderCallDepth = "Pave-Call-Depth"

// DefaultMaxCallDepth is the depth limit used when none is configured.
const DefaultMaxCallDepth = 8

// maxHeaderDepth is the largest depth CallDepth accepts in a header; more is
// not a real chain of calls.
const maxHeaderDepth = 1000

var (
	// ErrCallDepth means the call would nest deeper than the limit.
	ErrCallDepth = errors.New("call depth limit exceeded")
	// ErrInvalidCallDepth means the Pave-Call-Depth header is not a
	// plausible depth.
	ErrInvalidCallDepth = errors.New("invalid " + HeaderCallDepth + " header")
)

// CallDepth parses the incoming Pave-Call-Depth header value ("" means 0)
// and returns the depth of the call about to be made, incoming+1. It
// returns ErrInvalidCallDepth for a value that is not a decimal number from
// 0 to 1000 (signs, spaces and other characters included), and an error
// wrapping ErrCallDepth when the new depth would exceed max. max <= 0 means
// DefaultMaxCallDepth. Errors never quote the header.
func CallDepth(header string, max int) (int, error) {
	if max <= 0 {
		max = DefaultMaxCallDepth
	}
	incoming := 0
	if header != "" {
		if len(header) > 4 || !allDigits(header) {
			return 0, ErrInvalidCallDepth
		}
		n, err := strconv.Atoi(header)
		if err != nil || n > maxHeaderDepth {
			return 0, ErrInvalidCallDepth
		}
		incoming = n
	}
	depth := incoming + 1
	if depth > max {
		return 0, fmt.Errorf("%w: at most %d nested calls", ErrCallDepth, max)
	}
	return depth, nil
}
