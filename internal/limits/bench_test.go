package limits

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAllow measures Allow from parallel goroutines, spread over 1024
// keys (the usual case: many functions and API keys) and on one hot key.
func BenchmarkAllow(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "id:orders:key_" + strconv.Itoa(i)
	}
	r := Rate{PerSecond: 1e6, Burst: 1000}
	b.Run("keys=1024", func(b *testing.B) {
		l := NewLimiter(time.Now)
		var seq atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(1) * 7919)
			for pb.Next() {
				i++
				l.Allow(keys[i%len(keys)], r)
			}
		})
	})
	b.Run("keys=1", func(b *testing.B) {
		l := NewLimiter(time.Now)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Allow("fn:orders", r)
			}
		})
	})
}

// BenchmarkReserve measures a Reserve and Settle pair against a function
// and an owner budget, as the gateway does for every request.
func BenchmarkReserve(b *testing.B) {
	subjects := []Subject{
		{Name: "function:orders", Budget: Budget{Window: Day, Invocations: 1 << 62, ComputeGBs: 1e12, RequestBytes: 1 << 62}},
		{Name: "owner:team-a", Budget: Budget{Window: Month, Invocations: 1 << 62, ComputeGBs: 1e12}},
	}
	b.Run("serial", func(b *testing.B) {
		l := NewLedger(time.Now, nil)
		b.ReportAllocs()
		for b.Loop() {
			res, err := l.Reserve(subjects, 1024, 128<<20, 10*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			res.Settle(5 * time.Millisecond)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		l := NewLedger(time.Now, nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := l.Reserve(subjects, 1024, 128<<20, 10*time.Second)
				if err != nil {
					b.Error(err)
					return
				}
				res.Settle(5 * time.Millisecond)
			}
		})
	})
}
