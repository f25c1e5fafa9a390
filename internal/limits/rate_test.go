package limits

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64 // 0: an error
	}{
		{"100/s", 100},
		{"6000/m", 100},
		{"10/h", 10.0 / 3600},
		{"0.5/s", 0.5},
		{"1/s", 1},
		{"007/s", 7},
		{"1000000/s", 1e6},
		{"60000000/m", 1e6},
		{"1.5/m", 1.5 / 60},
		{"0/s", 0},
		{"0.0/m", 0},
		{"-1/s", 0},
		{"+1/s", 0},
		{"1e3/s", 0},
		{"0x10/s", 0},
		{"1_000/s", 0},
		{"Inf/s", 0},
		{"NaN/s", 0},
		{".5/s", 0},
		{"5./s", 0},
		{"1.2.3/s", 0},
		{"100", 0},
		{"100/", 0},
		{"/s", 0},
		{"100/d", 0},
		{"100/S", 0},
		{"100/sec", 0},
		{"100/s/s", 0},
		{" 100/s", 0},
		{"100/s ", 0},
		{"100 /s", 0},
		{"1000001/s", 0},
		{"2000000/s", 0}, // a manifest always refused it: the stricter bound won
		{"", 0},
		{strings.Repeat("1", 40) + "/h", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if tt.want == 0 {
				if err == nil || !errors.Is(err, ErrInvalidRate) {
					t.Fatalf("ParseRate(%q) = %v, %v; want ErrInvalidRate", tt.in, got, err)
				}
				if len(tt.in) > 3 && strings.Contains(err.Error(), tt.in) {
					t.Errorf("the error quotes the input: %v", err)
				}
				return
			}
			if err != nil || math.Abs(got-tt.want) > 1e-12*tt.want {
				t.Fatalf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRateUnlimited(t *testing.T) {
	for _, tt := range []struct {
		r    Rate
		want bool
	}{
		{Rate{}, true},
		{Rate{PerSecond: -1, Burst: 5}, true},
		{Rate{PerSecond: 0.001}, false},
		{Rate{PerSecond: 10, Burst: 10}, false},
	} {
		if got := tt.r.Unlimited(); got != tt.want {
			t.Errorf("%+v.Unlimited() = %v", tt.r, got)
		}
	}
}

// TestAllow walks buckets through fake time, checking every Decision field.
func TestAllow(t *testing.T) {
	type step struct {
		advance time.Duration
		want    Decision
	}
	tests := []struct {
		name  string
		rate  Rate
		steps []step
	}{
		{
			name: "burst then refusal",
			rate: Rate{PerSecond: 1, Burst: 3},
			steps: []step{
				{0, Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: time.Second, Window: 3 * time.Second}},
				{0, Decision{Allowed: true, Limit: 3, Remaining: 1, Reset: 2 * time.Second, Window: 3 * time.Second}},
				{0, Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: 3 * time.Second, Window: 3 * time.Second}},
				{0, Decision{Allowed: false, Limit: 3, Remaining: 0, Reset: 3 * time.Second, RetryAfter: time.Second, Window: 3 * time.Second}},
				{0, Decision{Allowed: false, Limit: 3, Remaining: 0, Reset: 3 * time.Second, RetryAfter: time.Second, Window: 3 * time.Second}},
			},
		},
		{
			name: "refill over time",
			rate: Rate{PerSecond: 2, Burst: 2},
			steps: []step{
				{0, Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: 500 * time.Millisecond, Window: time.Second}},
				{0, Decision{Allowed: true, Limit: 2, Remaining: 0, Reset: time.Second, Window: time.Second}},
				{250 * time.Millisecond, Decision{Allowed: false, Limit: 2, Remaining: 0, Reset: 750 * time.Millisecond, RetryAfter: 250 * time.Millisecond, Window: time.Second}},
				{250 * time.Millisecond, Decision{Allowed: true, Limit: 2, Remaining: 0, Reset: time.Second, Window: time.Second}},
				{10 * time.Second, Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: 500 * time.Millisecond, Window: time.Second}},
			},
		},
		{
			name: "slow rate",
			rate: Rate{PerSecond: 0.5, Burst: 1},
			steps: []step{
				{0, Decision{Allowed: true, Limit: 1, Remaining: 0, Reset: 2 * time.Second, Window: 2 * time.Second}},
				{time.Second, Decision{Allowed: false, Limit: 1, Remaining: 0, Reset: time.Second, RetryAfter: time.Second, Window: 2 * time.Second}},
				{time.Second, Decision{Allowed: true, Limit: 1, Remaining: 0, Reset: 2 * time.Second, Window: 2 * time.Second}},
			},
		},
		{
			name: "burst below one counts as one",
			rate: Rate{PerSecond: 4, Burst: 0},
			steps: []step{
				{0, Decision{Allowed: true, Limit: 1, Remaining: 0, Reset: 250 * time.Millisecond, Window: 250 * time.Millisecond}},
				{0, Decision{Allowed: false, Limit: 1, Remaining: 0, Reset: 250 * time.Millisecond, RetryAfter: 250 * time.Millisecond, Window: 250 * time.Millisecond}},
			},
		},
		{
			name: "unlimited",
			rate: Rate{PerSecond: 0, Burst: 1},
			steps: []step{
				{0, Decision{Allowed: true}},
				{0, Decision{Allowed: true}},
			},
		},
		{
			name: "infinite rate",
			rate: Rate{PerSecond: math.Inf(1), Burst: 1},
			steps: []step{
				{0, Decision{Allowed: true}},
				{0, Decision{Allowed: true}},
			},
		},
		{
			name: "NaN rate refuses",
			rate: Rate{PerSecond: math.NaN(), Burst: 1},
			steps: []step{
				{0, Decision{RetryAfter: time.Second}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock(epoch)
			l := NewLimiter(c.Now)
			for i, s := range tt.steps {
				c.Advance(s.advance)
				if got := l.Allow("k", tt.rate); got != s.want {
					t.Fatalf("step %d:\n got %+v\nwant %+v", i, got, s.want)
				}
			}
		})
	}
}

// sfItem is a parsed Structured Field item with Integer parameters, the
// shape of the RateLimit and RateLimit-Policy list members.
type sfItem struct {
	name   string
	params map[string]int64
}

// parseSFItem parses `"string";key=int;key=int` strictly (RFC 9651).
func parseSFItem(s string) (sfItem, error) {
	it := sfItem{params: map[string]int64{}}
	if !strings.HasPrefix(s, `"`) {
		return it, fmt.Errorf("item does not start with a String: %q", s)
	}
	var b strings.Builder
	i := 1
	for ; ; i++ {
		if i >= len(s) {
			return it, fmt.Errorf("unterminated String: %q", s)
		}
		c := s[i]
		if c == '\\' {
			i++
			if i >= len(s) || (s[i] != '"' && s[i] != '\\') {
				return it, fmt.Errorf("bad escape: %q", s)
			}
			b.WriteByte(s[i])
			continue
		}
		if c == '"' {
			break
		}
		if c < 0x20 || c > 0x7e {
			return it, fmt.Errorf("byte %#x in String", c)
		}
		b.WriteByte(c)
	}
	it.name = b.String()
	rest := s[i+1:]
	for rest != "" {
		if rest[0] != ';' {
			return it, fmt.Errorf("expected ';' in %q", rest)
		}
		param, next, _ := strings.Cut(rest[1:], ";")
		if next != "" || strings.HasSuffix(rest[1:], ";") {
			next = ";" + next
		}
		key, val, ok := strings.Cut(param, "=")
		if !ok || key == "" || strings.ToLower(key) != key {
			return it, fmt.Errorf("bad parameter %q", param)
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || val != strconv.FormatInt(n, 10) {
			return it, fmt.Errorf("parameter %q is not an Integer", param)
		}
		if _, dup := it.params[key]; dup {
			return it, fmt.Errorf("duplicate parameter %q", key)
		}
		it.params[key] = n
		rest = next
	}
	return it, nil
}

func TestDecisionHeaders(t *testing.T) {
	type want struct {
		q, w, r, t int64
		retryAfter string // "" when absent
	}
	tests := []struct {
		name     string
		rate     Rate
		requests int
		advance  time.Duration // before the last request
		want     want
	}{
		{"first request", Rate{PerSecond: 2, Burst: 10}, 1, 0, want{q: 10, w: 5, r: 9, t: 1}},
		{"bucket drained", Rate{PerSecond: 2, Burst: 10}, 10, 0, want{q: 10, w: 5, r: 0, t: 5}},
		{"refused, half a second to wait", Rate{PerSecond: 2, Burst: 10}, 11, 0, want{q: 10, w: 5, r: 0, t: 1, retryAfter: "1"}},
		{"refused, two seconds to wait", Rate{PerSecond: 0.5, Burst: 3}, 4, 0, want{q: 3, w: 6, r: 0, t: 2, retryAfter: "2"}},
		{"refused, partly refilled", Rate{PerSecond: 0.25, Burst: 2}, 3, 1500 * time.Millisecond, want{q: 2, w: 8, r: 0, t: 3, retryAfter: "3"}},
		{"per minute rate", Rate{PerSecond: 100.0 / 60, Burst: 100}, 1, 0, want{q: 100, w: 60, r: 99, t: 1}},
		{"per hour rate", Rate{PerSecond: 10.0 / 3600, Burst: 10}, 2, 0, want{q: 10, w: 3600, r: 8, t: 720}},
		{"sub-second window", Rate{PerSecond: 1000, Burst: 10}, 1, 0, want{q: 10, w: 1, r: 9, t: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock(epoch)
			l := NewLimiter(c.Now)
			var d Decision
			for i := range tt.requests {
				if i == tt.requests-1 {
					c.Advance(tt.advance)
				}
				d = l.Allow("fn:orders", tt.rate)
			}
			h := http.Header{}
			d.Headers(h, "fn:orders")

			policy, err := parseSFItem(h.Get("RateLimit-Policy"))
			if err != nil {
				t.Fatal(err)
			}
			limit, err := parseSFItem(h.Get("RateLimit"))
			if err != nil {
				t.Fatal(err)
			}
			if policy.name != "fn:orders" || limit.name != "fn:orders" {
				t.Errorf("names %q, %q", policy.name, limit.name)
			}
			got := want{q: policy.params["q"], w: policy.params["w"], r: limit.params["r"], t: limit.params["t"], retryAfter: h.Get("Retry-After")}
			if got != tt.want || len(policy.params) != 2 || len(limit.params) != 2 {
				t.Fatalf("headers %v\n got %+v\nwant %+v", h, got, tt.want)
			}
			// The draft: Retry-After must not point before the end of the
			// effective window.
			if ra := h.Get("Retry-After"); ra != "" {
				if n, _ := strconv.ParseInt(ra, 10, 64); n < limit.params["t"] || n < 1 {
					t.Errorf("Retry-After %s before t=%d", ra, limit.params["t"])
				}
			}
			if d.Allowed != (tt.want.retryAfter == "") {
				t.Errorf("Allowed = %v", d.Allowed)
			}
		})
	}
}

func TestHeadersPolicyNameIsAValidString(t *testing.T) {
	h := http.Header{}
	Decision{Allowed: true, Limit: 5, Remaining: 4, Reset: time.Second, Window: 5 * time.Second}.Headers(h, "a\"b\\c\r\nX-Injected: 1\xc3\xa9")
	for _, field := range []string{"RateLimit-Policy", "RateLimit"} {
		v := h.Get(field)
		if strings.ContainsAny(v, "\r\n") {
			t.Fatalf("%s carries a line break: %q", field, v)
		}
		it, err := parseSFItem(v)
		if err != nil {
			t.Fatalf("%s: %v", field, err)
		}
		if want := `a"b\c??X-Injected: 1??`; it.name != want {
			t.Errorf("%s name %q, want %q", field, it.name, want)
		}
	}
}

func TestHeadersWithoutPolicy(t *testing.T) {
	h := http.Header{}
	Decision{Allowed: true}.Headers(h, "x")
	if len(h) != 0 {
		t.Errorf("an unlimited decision set %v", h)
	}
	Decision{RetryAfter: time.Second}.Headers(h, "x")
	if len(h) != 1 || h.Get("Retry-After") != "1" {
		t.Errorf("a refusal without policy set %v", h)
	}
}

// Two policies on one response: both are listed, and the longer
// Retry-After wins whichever order they are written in.
func TestHeadersSeveralPolicies(t *testing.T) {
	short := Decision{Limit: 10, Window: 10 * time.Second, Reset: 10 * time.Second, RetryAfter: 2 * time.Second}
	long := Decision{Limit: 5, Window: time.Hour, Reset: time.Hour, RetryAfter: 30 * time.Second}
	for _, order := range [][]Decision{{short, long}, {long, short}} {
		h := http.Header{}
		order[0].Headers(h, "a")
		order[1].Headers(h, "b")
		if n := len(h.Values("RateLimit-Policy")); n != 2 {
			t.Errorf("%d RateLimit-Policy lines", n)
		}
		if n := len(h.Values("RateLimit")); n != 2 {
			t.Errorf("%d RateLimit lines", n)
		}
		if got := h.Get("Retry-After"); got != "30" {
			t.Errorf("Retry-After %s, want 30", got)
		}
	}
}

func TestRateChangeOnRedeploy(t *testing.T) {
	c := newClock(epoch)
	l := NewLimiter(c.Now)
	old := Rate{PerSecond: 1, Burst: 2}
	l.Allow("fn", old)
	l.Allow("fn", old)
	if d := l.Allow("fn", old); d.Allowed {
		t.Fatal("a drained bucket allowed")
	}

	// A redeploy raises the rate: the bucket keeps its (empty) tokens but
	// refills at the new rate, so 100ms later one token is back, which the
	// old rate would not give for a second.
	faster := Rate{PerSecond: 10, Burst: 20}
	if d := l.Allow("fn", faster); d.Allowed || d.Limit != 20 || d.RetryAfter != 100*time.Millisecond {
		t.Fatalf("after the raise %+v", d)
	}
	c.Advance(100 * time.Millisecond)
	if d := l.Allow("fn", faster); !d.Allowed {
		t.Fatalf("the new rate did not apply: %+v", d)
	}
	c.Advance(time.Hour)
	if d := l.Allow("fn", faster); !d.Allowed || d.Remaining != 19 {
		t.Fatalf("the bucket did not fill to the new burst: %+v", d)
	}

	// Lowering the burst caps the tokens at once.
	lower := Rate{PerSecond: 10, Burst: 3}
	if d := l.Allow("fn", lower); !d.Allowed || d.Limit != 3 || d.Remaining != 2 {
		t.Fatalf("after the lowering %+v", d)
	}
	l.Allow("fn", lower)
	l.Allow("fn", lower)
	if d := l.Allow("fn", lower); d.Allowed {
		t.Fatalf("more than the new burst was allowed: %+v", d)
	}
}

func TestSweep(t *testing.T) {
	c := newClock(epoch)
	l := NewLimiter(c.Now)
	fast := Rate{PerSecond: 100, Burst: 5}
	slow := Rate{PerSecond: 10.0 / 3600, Burst: 10} // 10/h: an hour to refill
	l.Allow("fast", fast)
	for range 10 {
		l.Allow("slow", slow)
	}
	c.Advance(DefaultIdleTTL - time.Second)
	l.Allow("recent", fast)
	c.Advance(time.Second)
	l.Sweep()

	// "fast" is idle and full: dropped. "slow" is idle but still nearly
	// empty: dropping it would hand an idle client a fresh burst, so it
	// stays. "recent" is not idle.
	if n := l.Len(); n != 2 {
		t.Fatalf("%d buckets after Sweep, want 2", n)
	}
	// Ten minutes refilled 10/6 tokens, not a whole new burst.
	if d := l.Allow("slow", slow); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("Sweep reset a slow bucket: %+v", d)
	}
	if d := l.Allow("slow", slow); d.Allowed {
		t.Fatalf("Sweep reset a slow bucket: %+v", d)
	}
	if d := l.Allow("fast", fast); !d.Allowed || d.Remaining != 4 {
		t.Fatalf("a dropped key does not start full: %+v", d)
	}

	// Once the slow bucket has refilled and idled, it goes too.
	c.Advance(2 * time.Hour)
	l.Sweep()
	if n := l.Len(); n != 0 {
		t.Fatalf("%d buckets after the final Sweep, want 0", n)
	}
}

func TestSweepHonoursIdleTTL(t *testing.T) {
	c := newClock(epoch)
	l := NewLimiter(c.Now)
	l.IdleTTL = time.Minute
	l.Allow("k", Rate{PerSecond: 100, Burst: 1})
	c.Advance(59 * time.Second)
	l.Sweep()
	if l.Len() != 1 {
		t.Fatal("swept before IdleTTL")
	}
	c.Advance(time.Second)
	l.Sweep()
	if l.Len() != 0 {
		t.Fatal("not swept at IdleTTL")
	}
}

func TestMaxKeysOverflow(t *testing.T) {
	c := newClock(epoch)
	l := NewLimiter(c.Now)
	l.MaxKeys = 2
	r := Rate{PerSecond: 0.001, Burst: 2}
	if !l.Allow("a", r).Allowed || !l.Allow("b", r).Allowed {
		t.Fatal("the first keys were refused")
	}
	// The table is full: new keys share one overflow bucket of burst 2,
	// so three new keys get two requests between them.
	got := []bool{l.Allow("c", r).Allowed, l.Allow("d", r).Allowed, l.Allow("e", r).Allowed}
	if want := []bool{true, true, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("overflow keys allowed %v, want %v", got, want)
	}
	// Keys that had a bucket keep it.
	if !l.Allow("a", r).Allowed {
		t.Fatal("an existing key lost its bucket")
	}
	if l.Allow("a", r).Allowed {
		t.Fatal("an existing key's bucket is not its own")
	}
	// Another rate has an overflow bucket of its own.
	if !l.Allow("f", Rate{PerSecond: 0.001, Burst: 1}).Allowed {
		t.Fatal("the overflow bucket of another rate was shared")
	}
	if n := l.Len(); n != 4 {
		t.Fatalf("%d buckets, want 2 + 2 overflow", n)
	}

	// When Sweep makes room, new keys get their own buckets again.
	c.Advance(24 * time.Hour)
	l.Sweep()
	if n := l.Len(); n != 0 {
		t.Fatalf("%d buckets after Sweep", n)
	}
	if !l.Allow("c", r).Allowed || !l.Allow("d", r).Allowed || !l.Allow("c", r).Allowed {
		t.Fatal("keys did not get their own buckets back")
	}
}

func TestOverflowRatesAreBounded(t *testing.T) {
	l := NewLimiter(newClock(epoch).Now)
	l.MaxKeys = 1
	l.Allow("owner", Rate{PerSecond: 1, Burst: 1})
	for i := range maxOverflowRates {
		if !l.Allow("k", Rate{PerSecond: 1, Burst: i + 1}).Allowed {
			t.Fatalf("overflow rate %d refused", i)
		}
	}
	d := l.Allow("k", Rate{PerSecond: 2, Burst: 1})
	if d.Allowed || d.RetryAfter != time.Second {
		t.Fatalf("beyond the overflow bound: %+v", d)
	}
	if n := l.Len(); n != 1+maxOverflowRates {
		t.Fatalf("%d buckets", n)
	}
}

func TestLongKeys(t *testing.T) {
	l := NewLimiter(newClock(epoch).Now)
	r := Rate{PerSecond: 0.001, Burst: 1}
	k1 := strings.Repeat("a", 10000)
	k2 := strings.Repeat("a", 9999) + "b"
	if !l.Allow(k1, r).Allowed || !l.Allow(k2, r).Allowed {
		t.Fatal("distinct long keys share a bucket")
	}
	if l.Allow(k1, r).Allowed {
		t.Fatal("a long key does not keep its bucket")
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	for k := range l.buckets {
		if len(k) > maxKeyLen {
			t.Errorf("a key of %d bytes is stored", len(k))
		}
	}
}

// With the clock frozen no token comes back, so out of any number of
// concurrent requests exactly Burst are allowed.
func TestConcurrentBurstIsExact(t *testing.T) {
	const burst, workers, each = 100, 64, 50
	tests := []struct {
		name    string
		maxKeys int
		key     func(w int) string
	}{
		{"one key", 0, func(int) string { return "fn:orders" }},
		// Every worker's key is new and the table is full: the shared
		// overflow bucket is just as exact.
		{"overflow bucket", 1, func(w int) string { return fmt.Sprint("k", w) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLimiter(newClock(epoch).Now)
			l.MaxKeys = tt.maxKeys
			if tt.maxKeys > 0 {
				l.Allow("filler", Rate{PerSecond: 1, Burst: 1})
			}
			r := Rate{PerSecond: 1, Burst: burst}
			var allowed atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for w := range workers {
				wg.Go(func() {
					<-start
					for range each {
						if d := l.Allow(tt.key(w), r); d.Allowed {
							allowed.Add(1)
						} else if d.Remaining != 0 || d.RetryAfter <= 0 {
							t.Errorf("refusal %+v", d)
						}
					}
				})
			}
			close(start)
			wg.Wait()
			if got := allowed.Load(); got != burst {
				t.Fatalf("%d allowed out of %d, want exactly %d", got, workers*each, burst)
			}
		})
	}
}

// A bucket Sweep drops between Allow finding it and taking a token is
// looked up again: the token is not taken from a bucket nobody will see
// again, which would let a whole extra burst through.
func TestSweepBetweenLookupAndTake(t *testing.T) {
	c := newClock(epoch)
	l := NewLimiter(c.Now)
	r := Rate{PerSecond: 1e-6, Burst: 3}
	l.buckets["k"] = newBucket(r, epoch) // full, and idle once the clock moves
	c.Advance(DefaultIdleTTL)
	swept := false
	l.afterLookup = func() {
		if !swept {
			swept = true
			l.Sweep()
		}
	}
	allowed := 0
	for range 10 {
		if l.Allow("k", r).Allowed {
			allowed++
		}
	}
	if !swept || allowed != 3 {
		t.Fatalf("swept %v, %d allowed, want 3", swept, allowed)
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("%d buckets", n)
	}
}

// Sweep racing Allow never hands out an extra burst: a bucket dropped
// while a request holds it is looked up again.
func TestSweepRacingAllow(t *testing.T) {
	const burst = 50
	for round := range 20 {
		c := newClock(epoch)
		l := NewLimiter(c.Now)
		r := Rate{PerSecond: 1e-6, Burst: burst}
		// "k" exists, full and idle: Sweep may drop it at any moment
		// until the first request takes a token.
		l.Allow("k", r)
		l.mu.Lock()
		l.buckets["k"] = newBucket(r, epoch)
		l.mu.Unlock()
		c.Advance(DefaultIdleTTL)

		var allowed atomic.Int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					l.Sweep()
				}
			}
		})
		var workers sync.WaitGroup
		for range 8 {
			workers.Go(func() {
				for range 20 {
					if l.Allow("k", r).Allowed {
						allowed.Add(1)
					}
				}
			})
		}
		workers.Wait()
		close(stop)
		wg.Wait()
		if got := allowed.Load(); got != burst {
			t.Fatalf("round %d: %d allowed, want %d", round, got, burst)
		}
	}
}
