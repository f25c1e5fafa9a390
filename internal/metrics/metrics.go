// Package metrics exposes pave's metrics in the Prometheus text format.
//
// Counters and histograms are fed by the invocation records the gateway
// produces (every answered call, refusals included), so the metrics and the
// invocation history count the same events. Gauges that describe state
// (instances, budget use, the store) are read when scraped, through
// functions the daemon registers.
//
// Names follow Prometheus conventions: a pave_ prefix, _total for counters,
// base units (_seconds, _bytes). Labels are bounded: function names come
// from the registry, codes from the error catalogue, capabilities and
// reasons from fixed lists; a request that matched no function is counted
// under function="".
package metrics

import (
	"net/http"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pave-dev/pave/internal/observe"
)

// Metrics holds pave's collectors in a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	invocations *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	refusals    *prometheus.CounterVec
	capCalls    *prometheus.CounterVec
	capDenials  *prometheus.CounterVec
	capFailures *prometheus.CounterVec
	memory      *prometheus.HistogramVec

	mu          sync.Mutex
	definitions []Definition
}

// Definition describes one of pave's metrics, as docs/OPERATIONS.md
// lists them: its name, type and label names.
type Definition struct {
	Name   string
	Type   string // counter, gauge or histogram
	Labels []string
}

// define records a metric's definition, for Definitions.
func (m *Metrics) define(name, typ string, labels ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.definitions = append(m.definitions, Definition{Name: name, Type: typ, Labels: labels})
}

// Definitions returns the definitions of pave's metrics registered so far
// (not the Go runtime's and process's), in the order they were registered.
func (m *Metrics) Definitions() []Definition {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.definitions)
}

// New returns Metrics with pave's collectors and the Go runtime's and
// process's standard ones registered.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.invocations = m.counterVec("pave_invocations_total",
		"Calls answered for each function, by outcome: ok, or the error code of the failure or refusal.", "function", "outcome")
	m.duration = m.histogramVec("pave_invocation_duration_seconds",
		"Time from receiving a call to answering it, for calls that ran the function.",
		[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}, "function")
	m.memory = m.histogramVec("pave_invocation_memory_bytes",
		"Linear memory of the instance at the end of each call that ran the function.",
		prometheus.ExponentialBuckets(1<<20, 2, 13), "function") // 1 MiB to 4 GiB
	m.refusals = m.counterVec("pave_refusals_total",
		"Calls refused before the function ran, by reason (auth, rate, concurrency, budget, input, call_depth, call_count, route, quarantine, other) and error code.", "reason", "code")
	m.capCalls = m.counterVec("pave_capability_calls_total",
		"Capability calls made by functions, granted or not, by function and capability.", "function", "capability")
	m.capDenials = m.counterVec("pave_capability_denials_total",
		"Capability calls refused because the manifest does not grant them.", "function", "capability")
	m.capFailures = m.counterVec("pave_capability_failures_total",
		"Capability calls granted that failed: an upstream that cannot be reached or answers too much, a limit, a malformed request.", "function", "capability")
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// counterVec registers a counter with labels.
func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	m.define(name, "counter", labels...)
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(v)
	return v
}

// histogramVec registers a histogram with labels.
func (m *Metrics) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	m.define(name, "histogram", labels...)
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	m.reg.MustRegister(v)
	return v
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Observe counts one invocation record.
func (m *Metrics) Observe(r observe.Record) {
	outcome := "ok"
	if r.Code != "" {
		outcome = r.Code
	}
	m.invocations.WithLabelValues(r.Function, outcome).Inc()
	if reason, refused := observe.RefusalReason(r.Code); refused {
		m.refusals.WithLabelValues(reason, r.Code).Inc()
	} else if r.Function != "" {
		m.duration.WithLabelValues(r.Function).Observe(r.DurationMS / 1000)
		if r.MemoryBytes > 0 {
			m.memory.WithLabelValues(r.Function).Observe(float64(r.MemoryBytes))
		}
	}
	for c, n := range r.Capabilities {
		m.capCalls.WithLabelValues(r.Function, c).Add(float64(n.Calls))
		if n.Denials > 0 {
			m.capDenials.WithLabelValues(r.Function, c).Add(float64(n.Denials))
		}
		if n.Failures > 0 {
			m.capFailures.WithLabelValues(r.Function, c).Add(float64(n.Failures))
		}
	}
}

// GaugeFunc registers a gauge read from fn at every scrape.
func (m *Metrics) GaugeFunc(name, help string, fn func() float64) {
	m.define(name, "gauge")
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// CounterFunc registers a counter read from fn at every scrape.
func (m *Metrics) CounterFunc(name, help string, fn func() float64) {
	m.define(name, "counter")
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// Sample is one value of a labelled gauge.
type Sample struct {
	Labels []string
	Value  float64
}

// GaugeVecFunc registers a gauge with labels whose samples fn returns at
// every scrape.
func (m *Metrics) GaugeVecFunc(name, help string, labels []string, fn func() []Sample) {
	m.define(name, "gauge", labels...)
	m.reg.MustRegister(&vecFunc{desc: prometheus.NewDesc(name, help, labels, nil), fn: fn})
}

type vecFunc struct {
	desc *prometheus.Desc
	fn   func() []Sample
}

var _ prometheus.Collector = (*vecFunc)(nil)

func (v *vecFunc) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

func (v *vecFunc) Collect(ch chan<- prometheus.Metric) {
	for _, s := range v.fn() {
		m, err := prometheus.NewConstMetric(v.desc, prometheus.GaugeValue, s.Value, s.Labels...)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(v.desc, err)
			continue
		}
		ch <- m
	}
}
