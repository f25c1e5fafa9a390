package abi

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// wireFormat is the leading byte of every version 1 message.
const wireFormat = 1

// AppendRequest appends the encoding of r to dst and returns the extended
// buffer. It encodes r as it is: DecodeRequest rejects the result exactly
// when r.Validate reports an error.
func AppendRequest(dst []byte, r *Request) []byte {
	dst = slices.Grow(dst, r.size())
	dst = append(dst, wireFormat)
	dst = appendString(dst, r.Method)
	dst = appendString(dst, r.Path)
	dst = appendString(dst, r.Route)
	dst = binary.AppendUvarint(dst, uint64(len(r.Params)))
	for _, p := range r.Params {
		dst = appendString(dst, p.Name)
		dst = appendString(dst, p.Value)
	}
	dst = appendString(dst, r.RawQuery)
	dst = appendHeaders(dst, r.Headers)
	dst = appendString(dst, r.Body)
	dst = appendString(dst, r.Caller)
	return appendString(dst, r.RequestID)
}

// AppendResponse appends the encoding of r to dst and returns the extended
// buffer. It encodes r as it is: DecodeResponse rejects the result exactly
// when r.Validate reports an error.
func AppendResponse(dst []byte, r *Response) []byte {
	dst = slices.Grow(dst, r.size())
	dst = append(dst, wireFormat)
	dst = binary.AppendUvarint(dst, uint64(r.Status))
	dst = appendHeaders(dst, r.Headers)
	return appendString(dst, r.Body)
}

// DecodeRequest decodes a request encoded by AppendRequest. The result does
// not alias b.
func DecodeRequest(b []byte) (*Request, error) {
	d := message(b, MaxRequestSize)
	var r Request
	r.Method = d.method()
	r.Path = d.string()
	r.Route = d.string()
	r.Params = d.params()
	r.RawQuery = d.string()
	r.Headers = d.headers()
	r.Body = d.body()
	r.Caller = d.string()
	r.RequestID = d.string()
	return result(&d, &r)
}

// DecodeResponse decodes a response encoded by AppendResponse. The result
// does not alias b, so b may be a view of guest memory.
func DecodeResponse(b []byte) (*Response, error) {
	d := message(b, MaxResponseSize)
	var r Response
	r.Status = d.status()
	r.Headers = d.headers()
	r.Body = d.body()
	return result(&d, &r)
}

// Validate reports the error DecodeRequest would return for the encoding of
// r, or nil if it would decode.
func (r *Request) Validate() error {
	if r.size() > MaxRequestSize {
		return ErrTooLarge
	}
	if !isToken(r.Method) {
		return ErrMethod
	}
	if len(r.Params) > MaxParams {
		return ErrTooManyParams
	}
	return validateHeaders(r.Headers)
}

// Validate reports the error DecodeResponse would return for the encoding of
// r, or nil if it would decode.
func (r *Response) Validate() error {
	if r.size() > MaxResponseSize {
		return ErrTooLarge
	}
	if r.Status < MinStatus || r.Status > MaxStatus {
		return ErrStatus
	}
	return validateHeaders(r.Headers)
}

// size returns the length of the encoding of r.
func (r *Request) size() int {
	n := 1 + stringSize(r.Method) + stringSize(r.Path) + stringSize(r.Route)
	n += uvarintSize(uint64(len(r.Params)))
	for _, p := range r.Params {
		n += stringSize(p.Name) + stringSize(p.Value)
	}
	n += stringSize(r.RawQuery) + headersSize(r.Headers) + stringSize(r.Body)
	return n + stringSize(r.Caller) + stringSize(r.RequestID)
}

// size returns the length of the encoding of r.
func (r *Response) size() int {
	return 1 + uvarintSize(uint64(r.Status)) + headersSize(r.Headers) + stringSize(r.Body)
}

func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendHeaders(dst []byte, hs []Header) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(hs)))
	for _, h := range hs {
		dst = appendString(dst, h.Name)
		dst = appendString(dst, h.Value)
	}
	return dst
}

func uvarintSize(x uint64) int {
	return (bits.Len64(x|1) + 6) / 7
}

func stringSize[T string | []byte](s T) int {
	return uvarintSize(uint64(len(s))) + len(s)
}

func headersSize(hs []Header) int {
	n := uvarintSize(uint64(len(hs)))
	for _, h := range hs {
		n += stringSize(h.Name) + stringSize(h.Value)
	}
	return n
}

func validateHeaders(hs []Header) error {
	if len(hs) > MaxHeaders {
		return ErrTooManyHeaders
	}
	total := 0
	for _, h := range hs {
		if err := checkHeader(h.Name, h.Value, &total); err != nil {
			return err
		}
	}
	return nil
}

// checkHeader validates one header field and adds its size to *total, the
// running size of a message's header fields.
func checkHeader[T string | []byte](name, value T, total *int) error {
	if !isToken(name) {
		return ErrHeaderName
	}
	if !isFieldValue(value) {
		return ErrHeaderValue
	}
	*total += len(name) + len(value)
	if *total > MaxHeaderBytes {
		return ErrHeadersTooLarge
	}
	return nil
}

// isToken reports whether s is a token as defined by RFC 9110, section
// 5.6.2: one or more tchars.
func isToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := range len(s) {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// isFieldValue reports whether s may be sent as a header value: it must not
// contain CR, LF or NUL, which could end the header line early.
func isFieldValue[T string | []byte](s T) bool {
	for i := range len(s) {
		switch s[i] {
		case '\r', '\n', 0:
			return false
		}
	}
	return true
}

// decoder reads a message front to back. The first error sticks: once err
// is set every read returns a zero value, so callers check err once at the
// end.
type decoder struct {
	buf []byte // the unread input
	err error
}

// message returns a decoder of the message b, which may be at most max
// bytes long, past its format byte.
func message(b []byte, max int) decoder {
	d := decoder{buf: b}
	if len(b) > max {
		d.fail(ErrTooLarge)
	}
	d.format()
	return d
}

// result returns m, the message d decoded, or the error of d, which
// includes input left after m.
func result[M any](d *decoder, m *M) (*M, error) {
	if err := d.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.buf = nil
}

// finish returns the decoding error, if any, or ErrTrailingData if input
// remains.
func (d *decoder) finish() error {
	if d.err == nil && len(d.buf) > 0 {
		d.fail(ErrTrailingData)
	}
	return d.err
}

func (d *decoder) format() {
	switch {
	case len(d.buf) == 0:
		d.fail(ErrTruncated)
	case d.buf[0] != wireFormat:
		d.fail(ErrFormat)
	default:
		d.buf = d.buf[1:]
	}
}

// uvarint reads a varint, which must be in its shortest form so that every
// message has exactly one encoding.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.buf)
	switch {
	case n == 0:
		d.fail(ErrTruncated)
		return 0
	case n < 0, n > 1 && d.buf[n-1] == 0:
		d.fail(ErrVarint)
		return 0
	}
	d.buf = d.buf[n:]
	return x
}

// bytes reads a length-prefixed field and returns it without copying.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail(ErrTruncated)
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) string() string {
	return string(d.bytes())
}

// body reads a length-prefixed field into a new slice, or nil if it is
// empty.
func (d *decoder) body() []byte {
	b := d.bytes()
	if len(b) == 0 {
		return nil
	}
	return slices.Clone(b)
}

func (d *decoder) method() string {
	m := d.bytes()
	if d.err == nil && !isToken(m) {
		d.fail(ErrMethod)
	}
	if d.err != nil {
		return ""
	}
	return string(m)
}

func (d *decoder) status() int {
	s := d.uvarint()
	if d.err == nil && (s < MinStatus || s > MaxStatus) {
		d.fail(ErrStatus)
	}
	if d.err != nil {
		return 0
	}
	return int(s)
}

// count reads the item count of a list whose items are pairs of strings. It
// fails if the count is over limit, or if the rest of the input could not
// hold that many items, so that callers may allocate the count.
func (d *decoder) count(limit int, tooMany error) int {
	n := d.uvarint()
	switch {
	case d.err != nil:
		return 0
	case n > uint64(limit):
		d.fail(tooMany)
		return 0
	case n > uint64(len(d.buf)/2): // each item takes at least two bytes
		d.fail(ErrTruncated)
		return 0
	}
	return int(n)
}

func (d *decoder) params() []Param {
	n := d.count(MaxParams, ErrTooManyParams)
	if n == 0 {
		return nil
	}
	ps := make([]Param, n)
	for i := range ps {
		ps[i].Name = d.string()
		ps[i].Value = d.string()
		if d.err != nil {
			return nil
		}
	}
	return ps
}

func (d *decoder) headers() []Header {
	n := d.count(MaxHeaders, ErrTooManyHeaders)
	if n == 0 {
		return nil
	}
	hs := make([]Header, n)
	total := 0
	for i := range hs {
		name, value := d.bytes(), d.bytes()
		if d.err != nil {
			return nil
		}
		if err := checkHeader(name, value, &total); err != nil {
			d.fail(err)
			return nil
		}
		hs[i] = Header{Name: string(name), Value: string(value)}
	}
	return hs
}
