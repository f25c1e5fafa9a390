package daemon

import (
	"context"
	"fmt"

	"github.com/pave-dev/pave/internal/gateway"
	"github.com/pave-dev/pave/internal/limits"
	"github.com/pave-dev/pave/internal/metrics"
	"github.com/pave-dev/pave/internal/observe"
	"github.com/pave-dev/pave/internal/registry"
)

// observers hands every invocation record to each of its members: the
// history, the metrics and the usage counts see the same calls.
type observers []gateway.Observer

func (o observers) Observe(r observe.Record) {
	for _, x := range o {
		x.Observe(r)
	}
}

// openObservability opens the invocation history and builds the metrics,
// with the gauges read from the daemon's state at each scrape.
func (d *Daemon) openObservability(ctx context.Context, reg *registry.Registry, ledger *limits.Ledger) error {
	o := d.cfg.Observability
	s, err := d.nats.Stream(ctx, observe.StreamConfig(observe.Retention{MaxAge: o.HistoryMaxAge, MaxBytes: o.HistoryMaxBytes}))
	if err != nil {
		return fmt.Errorf("invocation history: %w", err)
	}
	d.history = observe.New(s, observe.Options{Log: d.log})
	m := metrics.New()
	m.GaugeFunc("pave_functions", "Functions deployed.", func() float64 { return float64(len(reg.List())) })
	m.GaugeFunc("pave_idle_instance_memory_bytes", "Linear memory held by pooled, idle instances.", func() float64 { return float64(d.engine.IdleMemory()) })
	m.GaugeFunc("pave_loaded_modules", "Modules compiled and held in memory, at most --max-loaded-modules.", func() float64 { return float64(d.engine.Loaded()) })
	m.GaugeFunc("pave_interpreted_modules", "Loaded modules served by the interpreter while their machine code compiles.", func() float64 { return float64(d.engine.Interpreted()) })
	m.GaugeFunc("pave_jetstream_connected", "1 while the connection to NATS is up and JetStream and every stream pave opened answer (checked every 5s); 0 during a store outage.", d.health.up)
	m.CounterFunc("pave_history_records_dropped_total", "Invocation records dropped because the history could not keep up or be written.", func() float64 { return float64(d.history.Dropped()) })
	m.GaugeVecFunc("pave_budget_spent", "What each budget subject spent in its current window, by meter (invocations, compute_gb_seconds, request_bytes).",
		[]string{"subject", "meter"}, func() []metrics.Sample {
			var out []metrics.Sample
			for subject, u := range ledger.Snapshot() {
				out = append(out,
					metrics.Sample{Labels: []string{subject, "invocations"}, Value: float64(u.Invocations)},
					metrics.Sample{Labels: []string{subject, "compute_gb_seconds"}, Value: u.ComputeGBs},
					metrics.Sample{Labels: []string{subject, "request_bytes"}, Value: float64(u.RequestBytes)})
			}
			return out
		})
	d.metrics = m
	return nil
}
