package abi

import "errors"

// Errors returned by the decoders and by Validate. Their text is stable and
// never includes bytes of the message.
var (
	ErrFormat          = errors.New("abi: unknown encoding format")
	ErrTruncated       = errors.New("abi: message truncated")
	ErrTrailingData    = errors.New("abi: trailing data after message")
	ErrVarint          = errors.New("abi: malformed varint")
	ErrTooLarge        = errors.New("abi: message too large")
	ErrMethod          = errors.New("abi: invalid method")
	ErrTooManyParams   = errors.New("abi: too many path parameters")
	ErrTooManyHeaders  = errors.New("abi: too many header fields")
	ErrHeadersTooLarge = errors.New("abi: header fields too large")
	ErrHeaderName      = errors.New("abi: invalid header name")
	ErrHeaderValue     = errors.New("abi: invalid header value")
	ErrStatus          = errors.New("abi: status code out of range")
	ErrTooManyItems    = errors.New("abi: too many list items")
)
