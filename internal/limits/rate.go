package limits

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: it refills at PerSecond tokens a second up to
// Burst tokens, and every request takes one token.
//
// It is also the rate a manifest declares, so its JSON form is the stored
// one.
type Rate struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

// Unlimited reports whether r sets no limit at all (PerSecond <= 0).
func (r Rate) Unlimited() bool { return r.PerSecond <= 0 }

// ErrInvalidRate is returned by ParseRate for anything that is not a
// positive rate in the accepted form.
var ErrInvalidRate = errors.New("invalid rate")

// MaxPerSecond is the highest rate ParseRate accepts. Anything above it is a
// typo rather than a limit: no single daemon serves a million requests a
// second.
const MaxPerSecond = 1e6

// maxRateLen bounds the text ParseRate looks at; real rates are short.
const maxRateLen = 32

// ParseRate parses a rate written as a count per unit: "100/s", "6000/m",
// "10/h" or "0.5/s", and returns it in events per second. It is the one
// grammar of rates: manifests' rate_limit and the daemon's rate flags both
// use it. The count is a
// plain decimal number (digits, optionally a dot and more digits): no sign,
// exponent, underscores, spaces or other units. Zero is refused: a limit
// that is not wanted is left out rather than written as zero.
//
// Errors wrap ErrInvalidRate and do not quote the input.
func ParseRate(s string) (float64, error) {
	if len(s) > maxRateLen {
		return 0, fmt.Errorf("%w: longer than %d characters", ErrInvalidRate, maxRateLen)
	}
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("%w: want a count per unit, such as 100/s, 6000/m or 10/h", ErrInvalidRate)
	}
	var per float64
	switch unit {
	case "s":
		per = 1
	case "m":
		per = 60
	case "h":
		per = 3600
	default:
		return 0, fmt.Errorf("%w: the unit must be s, m or h", ErrInvalidRate)
	}
	if !isDecimal(num) {
		return 0, fmt.Errorf("%w: the count must be a plain decimal number, such as 100 or 0.5", ErrInvalidRate)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%w: the count is out of range", ErrInvalidRate)
	}
	if v == 0 {
		return 0, fmt.Errorf("%w: zero is not a rate; leave the limit out for no limit", ErrInvalidRate)
	}
	ps := v / per
	if ps > MaxPerSecond {
		return 0, fmt.Errorf("%w: more than %g per second", ErrInvalidRate, float64(MaxPerSecond))
	}
	if ps <= 0 {
		return 0, fmt.Errorf("%w: the count is out of range", ErrInvalidRate)
	}
	return ps, nil
}

// isDecimal reports whether s is digits, optionally followed by a dot and
// more digits.
func isDecimal(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if !allDigits(intPart) {
		return false
	}
	return !hasDot || allDigits(frac)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Decision is the outcome of Limiter.Allow, with what the IETF RateLimit
// headers report about the bucket.
type Decision struct {
	Allowed bool
	// Limit is the policy quota: the bucket's Burst. Zero means no policy
	// applied (an unlimited rate), and Headers then writes no RateLimit
	// fields.
	Limit int
	// Remaining is the number of whole tokens left after this request.
	Remaining int
	// Reset is the time until the bucket is full again.
	Reset time.Duration
	// RetryAfter is, when the request was refused, the time until one token
	// is available.
	RetryAfter time.Duration
	// Window is the policy window: the time an empty bucket takes to fill,
	// Burst / PerSecond.
	Window time.Duration
}

// Headers adds the rate-limit response fields of draft-ietf-httpapi-
// ratelimit-headers (revision 11, "RateLimit header fields for HTTP") for
// the policy called name to h:
//
//	RateLimit-Policy: "name";q=<Limit>;w=<Window in seconds>
//	RateLimit: "name";r=<Remaining>;t=<seconds>
//
// Both are Structured Field lists (RFC 9651) whose items are Strings with
// Integer parameters. Calling Headers for several policies lists each of
// them (the draft lets a list be split over several field lines).
//
// The effective window t is Reset rounded up to whole seconds. On refusal
// the response also carries Retry-After, the time until one token is back
// (at least one second); the draft asks that Retry-After not point before
// the end of the effective window, so a refusal reports r=0 with t equal to
// Retry-After: with no quota left, that is the time during which the client
// can use none. When h already has a longer Retry-After (another policy
// refused too), the longer one stays.
//
// A Decision without a policy (Limit 0) adds no RateLimit fields, only
// Retry-After if it refused.
func (d Decision) Headers(h http.Header, name string) {
	// The names are written in canonical form, as Add would write them, so
	// that they are not canonicalized on every call.
	const headerPolicy, headerRateLimit = "Ratelimit-Policy", "Ratelimit"
	retry := ceilSeconds(d.RetryAfter)
	if retry < 1 {
		retry = 1
	}
	if d.Limit > 0 {
		// Both values are built in one buffer on the stack, so that each
		// costs only its string.
		var buf [128]byte
		item := appendSFString(buf[:0], name)
		w := ceilSeconds(d.Window)
		if w < 1 {
			w = 1 // the draft requires a non-zero window
		}
		t := ceilSeconds(d.Reset)
		remaining := max(d.Remaining, 0)
		if !d.Allowed {
			t, remaining = retry, 0
		}
		v := strconv.AppendInt(append(item, ";q="...), int64(d.Limit), 10)
		v = strconv.AppendInt(append(v, ";w="...), w, 10)
		h[headerPolicy] = append(h[headerPolicy], string(v))
		v = strconv.AppendInt(append(v[:len(item)], ";r="...), int64(remaining), 10)
		v = strconv.AppendInt(append(v, ";t="...), t, 10)
		h[headerRateLimit] = append(h[headerRateLimit], string(v))
	}
	if !d.Allowed {
		if old, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64); err == nil && old > retry {
			return
		}
		h.Set("Retry-After", strconv.FormatInt(retry, 10))
	}
}

// ceilSeconds rounds d up to whole seconds; negative durations count as 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}

// appendSFString appends s as a Structured Field String (RFC 9651, 3.3.3): in
// double quotes, with '"' and '\' escaped. Bytes outside printable ASCII
// cannot appear in a String and become '?'.
func appendSFString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c > 0x7e:
			b = append(b, '?')
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// Defaults of a Limiter's bounds.
const (
	DefaultIdleTTL = 10 * time.Minute
	DefaultMaxKeys = 100000
)

// maxOverflowRates bounds the overflow buckets, one per distinct rate.
// Rates come from configuration, so reaching it means something is wrong;
// requests beyond it are refused.
const maxOverflowRates = 1024

// maxKeyLen is the longest key stored as given; longer keys are stored as
// their SHA-256, so that memory per bucket stays bounded whatever a caller
// puts in a key.
const maxKeyLen = 256

// Limiter holds token buckets by key, such as "fn:orders" or
// "id:orders:key_abc". It is safe for concurrent use.
//
// Memory is bounded by MaxKeys. Once MaxKeys buckets exist, a request for a
// new key does not get a bucket of its own: it shares one overflow bucket
// with every other new key of the same rate. That fails toward limiting:
// keys that arrive while the table is full are limited together, as if they
// were one client, until Sweep makes room. Buckets that existed before stay
// exact.
type Limiter struct {
	// IdleTTL is how long a bucket must go unused before Sweep may drop it
	// (DefaultIdleTTL when zero). Set it before the first call.
	IdleTTL time.Duration
	// MaxKeys bounds the number of buckets (DefaultMaxKeys when zero). Set
	// it before the first call.
	MaxKeys int
	// Nodes, when set, splits every rate across the live nodes: a bucket
	// holds this node's share (Nodes.Rate). Set it before the first call.
	Nodes *Nodes

	now func() time.Time

	mu       sync.RWMutex
	buckets  map[string]*bucket
	overflow map[Rate]*bucket

	// afterLookup, when set by a test, runs between finding a bucket and
	// locking it: the moment a concurrent Sweep may drop it.
	afterLookup func()
}

// bucket is one key's token bucket. The rate.Limiter has a lock of its own,
// but mu also covers rate changes and reading the tokens left, so that the
// Decision describes exactly the state this request left behind.
type bucket struct {
	mu       sync.Mutex
	lim      *rate.Limiter
	rate     Rate
	lastUsed time.Time
	dead     bool // removed from the table by Sweep; look the key up again
}

// NewLimiter returns an empty Limiter reading the time from now (time.Now
// in production).
func NewLimiter(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, buckets: make(map[string]*bucket), overflow: make(map[Rate]*bucket)}
}

// Allow takes one token from the bucket of key, whose rate is r, and
// reports the decision. A bucket is created full on first use. When r
// differs from the rate the bucket was last used with (the function was
// redeployed with another limit), the bucket keeps the tokens it has and
// refills at the new rate up to the new burst.
//
// An unlimited r (PerSecond <= 0 or +Inf) allows without keeping a bucket
// and reports no policy. A Burst below 1 counts as 1. A NaN rate is a
// configuration error and refuses.
func (l *Limiter) Allow(key string, r Rate) Decision {
	switch {
	case math.IsNaN(r.PerSecond):
		return Decision{RetryAfter: time.Second}
	case r.Unlimited() || math.IsInf(r.PerSecond, 1):
		return Decision{Allowed: true}
	}
	if r.Burst < 1 {
		r.Burst = 1
	}
	r = l.Nodes.Rate(r)
	if len(key) > maxKeyLen {
		sum := sha256.Sum256([]byte(key))
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	now := l.now()
	for {
		b := l.bucket(key, r, now)
		if b == nil {
			return Decision{RetryAfter: time.Second}
		}
		if l.afterLookup != nil {
			l.afterLookup()
		}
		b.mu.Lock()
		if b.dead {
			b.mu.Unlock()
			continue
		}
		d := b.take(now, r)
		b.mu.Unlock()
		return d
	}
}

// bucket finds or creates the bucket of key. It returns nil only when the
// table and the overflow buckets are all full.
func (l *Limiter) bucket(key string, r Rate, now time.Time) *bucket {
	maxKeys := l.maxKeys()
	l.mu.RLock()
	b := l.buckets[key]
	if b == nil && len(l.buckets) >= maxKeys {
		b = l.overflow[r]
	}
	l.mu.RUnlock()
	if b != nil {
		return b
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[key]; b != nil {
		return b
	}
	if len(l.buckets) < maxKeys {
		b := newBucket(r, now)
		l.buckets[key] = b
		return b
	}
	if b := l.overflow[r]; b != nil {
		return b
	}
	if len(l.overflow) >= maxOverflowRates {
		return nil
	}
	b = newBucket(r, now)
	l.overflow[r] = b
	return b
}

func newBucket(r Rate, now time.Time) *bucket {
	return &bucket{lim: rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst), rate: r, lastUsed: now}
}

// take takes one token at now under rate r. The caller holds b.mu.
func (b *bucket) take(now time.Time, r Rate) Decision {
	if b.rate != r {
		b.lim.SetLimitAt(now, rate.Limit(r.PerSecond))
		b.lim.SetBurstAt(now, r.Burst)
		b.rate = r
	}
	if now.After(b.lastUsed) {
		b.lastUsed = now
	}
	ok := b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	return decide(ok, tokens, r)
}

// decide builds the Decision for a bucket of rate r holding tokens after
// the request.
func decide(ok bool, tokens float64, r Rate) Decision {
	burst := float64(r.Burst)
	d := Decision{Allowed: ok, Limit: r.Burst, Window: seconds(burst / r.PerSecond)}
	if t := math.Floor(tokens); t > 0 {
		d.Remaining = int(min(t, burst))
	}
	if missing := burst - tokens; missing > 0 {
		d.Reset = seconds(missing / r.PerSecond)
	}
	if !ok {
		d.RetryAfter = seconds((1 - tokens) / r.PerSecond)
		if d.RetryAfter <= 0 {
			d.RetryAfter = time.Nanosecond
		}
	}
	return d
}

// seconds converts s seconds to a Duration, rounding up so that a client
// told to wait never comes back a nanosecond early, and saturating instead
// of overflowing.
func seconds(s float64) time.Duration {
	// The factor absorbs float rounding (100/m is not exact in binary),
	// so that an exact 60 s does not come out as 60 s and 1 ns.
	ns := math.Ceil(s * float64(time.Second) * (1 - 1e-14))
	switch {
	case ns <= 0 || math.IsNaN(ns):
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(ns)
}

func (l *Limiter) maxKeys() int {
	if l.MaxKeys > 0 {
		return l.MaxKeys
	}
	return DefaultMaxKeys
}

func (l *Limiter) idleTTL() time.Duration {
	if l.IdleTTL > 0 {
		return l.IdleTTL
	}
	return DefaultIdleTTL
}

// Sweep drops the buckets that have been idle for IdleTTL or longer and
// have refilled completely. A full bucket is the state a new bucket starts
// in, so dropping it forgets nothing: a slow rate (say 10/h) is not reset
// early by an idle timeout shorter than its window. Call it periodically,
// for example every minute.
func (l *Limiter) Sweep() {
	now := l.now()
	ttl := l.idleTTL()

	// Find candidates under the read lock, so that Allow is not held up by
	// a scan of a large table, then drop them under the write lock after
	// checking again.
	type candidate struct {
		key      string
		rate     Rate
		overflow bool
		b        *bucket
	}
	var found []candidate
	l.mu.RLock()
	for k, b := range l.buckets {
		if b.sweepable(now, ttl) {
			found = append(found, candidate{key: k, b: b})
		}
	}
	for r, b := range l.overflow {
		if b.sweepable(now, ttl) {
			found = append(found, candidate{rate: r, overflow: true, b: b})
		}
	}
	l.mu.RUnlock()
	if len(found) == 0 {
		return
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range found {
		c.b.mu.Lock()
		if c.b.idle(now, ttl) {
			c.b.dead = true
			if c.overflow {
				delete(l.overflow, c.rate)
			} else {
				delete(l.buckets, c.key)
			}
		}
		c.b.mu.Unlock()
	}
}

func (b *bucket) sweepable(now time.Time, ttl time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.idle(now, ttl)
}

// idle reports whether b is unused for ttl and full. The caller holds b.mu.
func (b *bucket) idle(now time.Time, ttl time.Duration) bool {
	return !b.dead && now.Sub(b.lastUsed) >= ttl && b.lim.TokensAt(now) >= float64(b.rate.Burst)
}

// Len returns the number of buckets held, overflow buckets included.
func (l *Limiter) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.buckets) + len(l.overflow)
}
