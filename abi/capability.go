package abi

import "encoding/binary"

// Capability calls.
//
// A capability function answers with an i32: a length of zero or more on
// success, or one of the negative Err codes below. On success the answer
// (a secret's value, a key-value entry, ...) waits on the host until the
// guest copies it out with result_read from pave_v1 before its next
// capability call; on failure a short message saying why waits there
// instead. One pending result at a time keeps the guest's memory management
// trivial: it learns the size first and allocates exactly that.
const (
	// FuncResultRead is pave_v1.result_read(ptr, len i32) -> i32: copy the
	// pending result into guest memory, returning its length, or -1 if
	// len is too small or nothing is pending. The result stays pending
	// until the next capability call.
	FuncResultRead = "result_read"
)

// Error codes of capability calls.
const (
	// ErrCodeInvalid: the arguments are malformed (bad pointer, name or
	// size).
	ErrCodeInvalid = -1
	// ErrCodeDenied: the manifest does not grant this use.
	ErrCodeDenied = -2
	// ErrCodeNotFound: no such secret, key or function.
	ErrCodeNotFound = -3
	// ErrCodeConflict: a compare-and-swap found another revision.
	ErrCodeConflict = -4
	// ErrCodeLimit: a per-invocation limit was reached.
	ErrCodeLimit = -5
	// ErrCodeUnavailable: the host or a remote service failed; retrying
	// may help.
	ErrCodeUnavailable = -6
)

// Secrets: pave_secrets_v1.
const (
	// FuncSecretGet is get(name_ptr, name_len i32) -> i32: the latest
	// version of a granted secret.
	FuncSecretGet = "get"
)

// Key-value store: pave_kv_v1. Buckets are the names granted in the
// manifest; a bucket belongs to the function's owner, so two owners'
// buckets of the same name are distinct stores.
const (
	// FuncKVGet is get(bucket_ptr, bucket_len, key_ptr, key_len i32) ->
	// i32. The result is an 8-byte little-endian revision followed by the
	// value (see DecodeKVEntry).
	FuncKVGet = "get"
	// FuncKVPut is put(bucket_ptr, bucket_len, key_ptr, key_len,
	// value_ptr, value_len i32) -> i32. The result is the new revision as
	// 8 little-endian bytes.
	FuncKVPut = "put"
	// FuncKVCAS is cas(bucket_ptr, bucket_len, key_ptr, key_len,
	// value_ptr, value_len i32, revision i64) -> i32: put only if the
	// key's revision is still revision; revision 0 creates a key that must
	// not exist. ErrCodeConflict otherwise.
	FuncKVCAS = "cas"
	// FuncKVDelete is delete(bucket_ptr, bucket_len, key_ptr, key_len i32)
	// -> i32 (0).
	FuncKVDelete = "delete"
	// FuncKVList is list(bucket_ptr, bucket_len, prefix_ptr, prefix_len
	// i32) -> i32. The result is a list of keys (see DecodeStrings), at
	// most MaxKVList, in order.
	FuncKVList = "list"
)

// Limits of the key-value store.
const (
	MaxKVKey   = 256
	MaxKVValue = 1 << 20
	MaxKVList  = 1000
)

// ValidKVKey reports whether k may name a key: 1 to MaxKVKey bytes of
// letters, digits and - _ = . /, not starting or ending with '.'.
func ValidKVKey(k string) bool {
	if len(k) == 0 || len(k) > MaxKVKey || k[0] == '.' || k[len(k)-1] == '.' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '=' || c == '.' || c == '/':
		default:
			return false
		}
	}
	return true
}

// AppendKVEntry encodes a key-value entry as the get result.
func AppendKVEntry(dst []byte, revision uint64, value []byte) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, revision)
	return append(dst, value...)
}

// DecodeKVEntry decodes a get result. The value aliases b.
func DecodeKVEntry(b []byte) (revision uint64, value []byte, err error) {
	if len(b) < 8 {
		return 0, nil, ErrTruncated
	}
	return binary.LittleEndian.Uint64(b), b[8:], nil
}

// AppendStrings encodes a list of strings: a count, then each string, in
// the message encoding of this package.
func AppendStrings(dst []byte, list []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(list)))
	for _, s := range list {
		dst = appendString(dst, s)
	}
	return dst
}

// DecodeStrings decodes a list encoded by AppendStrings.
func DecodeStrings(b []byte) ([]string, error) {
	d := &decoder{buf: b}
	n := d.count(MaxKVList, ErrTooManyItems)
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.string())
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return out, nil
}

// Outbound HTTP: pave_http_v1.
const (
	// FuncHTTPFetch is fetch(req_ptr, req_len i32) -> i32. The request is
	// an Outbound (see AppendOutbound) to a host the manifest grants; the
	// result is the response, encoded as a Response (see DecodeResponse).
	FuncHTTPFetch = "fetch"
)

// MaxOutboundSize bounds an encoded outbound request.
const MaxOutboundSize = 2 << 20

// Outbound is an HTTP request a function sends through the host.
type Outbound struct {
	Method  string
	URL     string
	Headers []Header
	Body    []byte
}

// AppendOutbound appends the encoding of o: format, Method, URL, Headers,
// Body.
func AppendOutbound(dst []byte, o *Outbound) []byte {
	dst = append(dst, wireFormat)
	dst = appendString(dst, o.Method)
	dst = appendString(dst, o.URL)
	dst = appendHeaders(dst, o.Headers)
	return appendString(dst, o.Body)
}

// DecodeOutbound decodes an outbound request. The result does not alias b.
func DecodeOutbound(b []byte) (*Outbound, error) {
	d := message(b, MaxOutboundSize)
	var o Outbound
	o.Method = d.method()
	o.URL = d.string()
	o.Headers = d.headers()
	o.Body = d.body()
	return result(&d, &o)
}

// Calling other functions: pave_invoke_v1.
const (
	// FuncInvokeCall is call(name_ptr, name_len, req_ptr, req_len i32) ->
	// i32: run the function name, which the manifest must grant, on a
	// request encoded as an Outbound (see AppendOutbound) whose URL is a
	// path with an optional query, such as "/orders?limit=5". The result is
	// the callee's response, encoded as a Response (see DecodeResponse);
	// a refusal of the call (the callee's limits, budget or the call
	// depth) is a response too, with the status and JSON error body an
	// HTTP caller would get. ErrCodeNotFound means the function is granted
	// but not deployed.
	FuncInvokeCall = "call"
)

// Publishing events: pave_publish_v1.
const (
	// FuncPublish is publish(topic_ptr, topic_len, data_ptr, data_len i32)
	// -> i32: publish data as an event on topic, which the manifest must
	// grant. It returns once the event is stored; the result is the
	// event's id.
	FuncPublish = "publish"
)

// MaxEventData is the largest event data a function may publish.
const MaxEventData = 1 << 20
