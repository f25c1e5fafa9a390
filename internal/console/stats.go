package console

import (
	"math"
	"sort"
	"time"

	"github.com/pave-dev/pave/internal/observe"
)

// Spans of the overview: the last hour in 5-minute buckets, and the last
// day in hours.
const (
	hourSpan = time.Hour
	hourStep = 5 * time.Minute
	daySpan  = 24 * time.Hour
	dayStep  = time.Hour
)

// bucket counts the records of one interval.
type bucket struct {
	Calls, Errors, Refused int
	durations              []float64 // of the calls that ran, in ms
}

func (b *bucket) add(r observe.Record) {
	b.Calls++
	if _, refused := observe.RefusalReason(r.Code); refused {
		b.Refused++
	} else if r.Status >= 500 {
		b.Errors++
	}
	if observe.Ran(r) {
		b.durations = append(b.durations, r.DurationMS)
	}
}

func (b *bucket) merge(o *bucket) {
	b.Calls += o.Calls
	b.Errors += o.Errors
	b.Refused += o.Refused
	b.durations = append(b.durations, o.durations...)
}

// P50 and P99 are the bucket's duration percentiles; NaN without calls
// that ran.
func (b *bucket) P50() float64 { return percentile(b.durations, 0.50) }
func (b *bucket) P99() float64 { return percentile(b.durations, 0.99) }

// percentile is the nearest-rank percentile p of v, sorting v.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	if !sort.Float64sAreSorted(v) {
		sort.Float64s(v)
	}
	i := int(math.Ceil(p*float64(len(v)))) - 1
	return v[max(0, min(i, len(v)-1))]
}

// series is a span of equal buckets ending at end.
type series struct {
	end     time.Time
	step    time.Duration
	buckets []bucket
}

func newSeries(end time.Time, span, step time.Duration) *series {
	return &series{end: end, step: step, buckets: make([]bucket, int(span/step))}
}

// add counts r if it falls in the span.
func (s *series) add(r observe.Record) {
	age := s.end.Sub(r.Time)
	if age < 0 || age >= time.Duration(len(s.buckets))*s.step {
		return
	}
	s.buckets[len(s.buckets)-1-int(age/s.step)].add(r)
}

func (s *series) merge(o *series) {
	for i := range s.buckets {
		s.buckets[i].merge(&o.buckets[i])
	}
}

// total is the whole span as one bucket.
func (s *series) total() *bucket {
	var t bucket
	for i := range s.buckets {
		t.merge(&s.buckets[i])
	}
	return &t
}

// start is the time the first bucket begins.
func (s *series) start() time.Time { return s.end.Add(-time.Duration(len(s.buckets)) * s.step) }

// traffic is what the history says of one function, or of all.
type traffic struct {
	hour, day *series
	refusals  map[string]int // by reason, over the day
	callers   callerTally    // over the day; nil: not counted
}

func newTraffic(now time.Time) *traffic {
	return &traffic{hour: newSeries(now, hourSpan, hourStep), day: newSeries(now, daySpan, dayStep), refusals: map[string]int{}}
}

func (t *traffic) add(r observe.Record) {
	t.hour.add(r)
	t.day.add(r)
	if r.Time.After(t.day.start()) && !r.Time.After(t.day.end) {
		if t.callers != nil {
			t.callers.add(r)
		}
		if reason, refused := observe.RefusalReason(r.Code); refused {
			t.refusals[reason]++
		}
	}
}

func (t *traffic) merge(o *traffic) {
	t.hour.merge(o.hour)
	t.day.merge(o.day)
	for k, v := range o.refusals {
		t.refusals[k] += v
	}
}
