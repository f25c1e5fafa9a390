package hostcall

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pave-dev/pave/abi"
)

// NewKinds returns the sentinel errors of the package pkg for codes, each
// reading pkg, a colon and the description of its code, such as
// "kv: not found".
func NewKinds(pkg string, codes ...int32) Kinds {
	k := make(Kinds, len(codes))
	for _, code := range codes {
		k[code] = errors.New(pkg + ": " + Describe(code))
	}
	return k
}

// MaxName is the longest name (of a secret, topic or function) the host
// reads.
const MaxName = 512

// CheckName refuses an empty name or one longer than MaxName, before
// calling the host; what says what the name is, such as "topic".
func CheckName(op Op, kinds Kinds, what, name string) error {
	if name == "" || len(name) > MaxName {
		return Fail(op, kinds, abi.ErrCodeInvalid, fmt.Sprintf("a %s is 1 to %d bytes", what, MaxName))
	}
	return nil
}

// Shorten bounds a name quoted in an error.
func Shorten(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// EncodeOutbound encodes req for the host, refusing before the host does
// what the host would refuse as malformed: an invalid method or header
// field, or a request over abi.MaxOutboundSize encoded.
func EncodeOutbound(op Op, kinds Kinds, req *abi.Outbound) ([]byte, error) {
	// The rules for the method and header fields are those of an ABI
	// message; the abi errors never contain the offending bytes.
	check := abi.Request{Method: req.Method, Headers: req.Headers}
	if err := check.Validate(); err != nil {
		return nil, Fail(op, kinds, abi.ErrCodeInvalid, strings.TrimPrefix(err.Error(), "abi: "))
	}
	b := abi.AppendOutbound(nil, req)
	if len(b) > abi.MaxOutboundSize {
		return nil, Fail(op, kinds, abi.ErrCodeInvalid, fmt.Sprintf("the encoded request is over %d bytes", abi.MaxOutboundSize))
	}
	return b, nil
}

// ErrDecode is the message of a result the SDK cannot decode, which means
// the host and the SDK disagree about the ABI.
const ErrDecode = "malformed result from the host"

// Malformed returns the error of op for a result that does not decode.
func Malformed(op Op, kinds Kinds, err error) error {
	return Fail(op, kinds, abi.ErrCodeUnavailable, ErrDecode+": "+err.Error())
}

// DecodeResponse decodes a result that is an encoded abi.Response.
func DecodeResponse(op Op, kinds Kinds, res []byte) (*abi.Response, error) {
	r, err := abi.DecodeResponse(res)
	if err != nil {
		return nil, Malformed(op, kinds, err)
	}
	return r, nil
}
