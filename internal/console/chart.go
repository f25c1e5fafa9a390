package console

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// chart is an SVG chart, its geometry computed here and drawn by
// templates/chart.html: bars, lines and labels, styled by class from the
// console's stylesheet (no inline style, which the CSP forbids).
type chart struct {
	ID            string // for aria-labelledby
	Title         string
	Width, Height int
	Rects         []rect
	Lines         []line
	Labels        []label
	Legend        []legend
	// Empty says why there is nothing to draw, when there is nothing.
	Empty string
}

// rect and label hold their coordinates formatted: templates call no
// formatting function per element, which dominated a page's cost.
type rect struct {
	X, Y, W, H string
	Class      string
	Tip        string // the value, shown as the bar's title
}

func newRect(x, y, w, h float64, class, tip string) rect {
	return rect{X: coord(x), Y: coord(y), W: coord(w), H: coord(h), Class: class, Tip: tip}
}

type line struct {
	Points string
	Class  string
}

type label struct {
	X, Y   string
	Anchor string // start, middle or end
	Text   string
}

func newLabel(x, y float64, anchor, text string) label {
	return label{X: coord(x), Y: coord(y), Anchor: anchor, Text: text}
}

// coord formats a coordinate to a tenth of a pixel.
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

type legend struct{ Class, Text string }

// Plot area of the time charts.
const (
	chartW, chartH            = 640, 180
	padLeft, padRight         = 48.0, 8.0
	padTop, padBottom         = 8.0, 24.0
	plotW                     = chartW - padLeft - padRight
	plotH                     = chartH - padTop - padBottom
	timeLabelEvery            = 4
	hbarRow, hbarLabel, hbarW = 22.0, 120.0, 640
)

// trafficChart draws calls per bucket as bars, with errors and refusals
// over them.
func trafficChart(id, title string, s *series) chart {
	c := chart{ID: id, Title: title, Width: chartW, Height: chartH,
		Legend: []legend{{"calls", "calls"}, {"refused", "refused"}, {"errors", "errors (5xx)"}}}
	peak := 0
	for _, b := range s.buckets {
		peak = max(peak, b.Calls)
	}
	if peak == 0 {
		c.Empty = "No calls in this span."
	}
	top := niceCeil(float64(peak))
	bw := plotW / float64(len(s.buckets))
	for i, b := range s.buckets {
		if b.Calls == 0 {
			continue
		}
		x := padLeft + float64(i)*bw
		start := s.start().Add(time.Duration(i) * s.step)
		tip := fmt.Sprintf("%s: %d calls, %d refused, %d errors", start.UTC().Format("15:04"), b.Calls, b.Refused, b.Errors)
		c.Rects = append(c.Rects, barUp(x, bw, float64(b.Calls), top, "calls", tip))
		if b.Refused > 0 {
			c.Rects = append(c.Rects, barUp(x, bw, float64(b.Refused+b.Errors), top, "refused", tip))
		}
		if b.Errors > 0 {
			c.Rects = append(c.Rects, barUp(x, bw, float64(b.Errors), top, "errors", tip))
		}
	}
	c.Labels = append(c.Labels, yAxis(top, "")...)
	c.Labels = append(c.Labels, timeAxis(s)...)
	return c
}

// durationChart draws the p50 and p99 durations per bucket as lines.
func durationChart(id, title string, s *series) chart {
	c := chart{ID: id, Title: title, Width: chartW, Height: chartH,
		Legend: []legend{{"p50", "p50"}, {"p99", "p99"}}}
	peak := 0.0
	for i := range s.buckets {
		if p := s.buckets[i].P99(); !math.IsNaN(p) {
			peak = math.Max(peak, p)
		}
	}
	if peak == 0 {
		c.Empty = "No calls ran in this span."
	}
	top := niceCeil(peak)
	bw := plotW / float64(len(s.buckets))
	for _, q := range []struct {
		class string
		at    func(b *bucket) float64
	}{{"p50", (*bucket).P50}, {"p99", (*bucket).P99}} {
		// A run of buckets with calls is one line; a lone bucket, a short
		// level one across its middle, so that it shows.
		var run [][2]float64
		flush := func() {
			if len(run) == 1 {
				p := run[0]
				run = [][2]float64{{p[0] - bw/4, p[1]}, {p[0] + bw/4, p[1]}}
			}
			if len(run) > 0 {
				pts := make([]string, len(run))
				for i, p := range run {
					pts[i] = coord(p[0]) + "," + coord(p[1])
				}
				c.Lines = append(c.Lines, line{Points: strings.Join(pts, " "), Class: q.class})
			}
			run = nil
		}
		for i := range s.buckets {
			v := q.at(&s.buckets[i])
			if math.IsNaN(v) {
				flush()
				continue
			}
			run = append(run, [2]float64{padLeft + (float64(i)+0.5)*bw, padTop + plotH - v/top*plotH})
		}
		flush()
	}
	c.Labels = append(c.Labels, yAxis(top, " ms")...)
	c.Labels = append(c.Labels, timeAxis(s)...)
	return c
}

// hbar is one row of a horizontal bar chart.
type hbar struct {
	Name  string
	Value float64
	Text  string // the value as shown
	Class string
}

// hbarChart draws rows of horizontal bars, scaled to top (the largest
// value when top is 0).
func hbarChart(id, title string, rows []hbar, top float64, empty string) chart {
	c := chart{ID: id, Title: title, Width: hbarW, Height: int(hbarRow*float64(len(rows)) + 8)}
	if len(rows) == 0 {
		c.Empty, c.Height = empty, 24
		return c
	}
	if top == 0 {
		for _, r := range rows {
			top = math.Max(top, r.Value)
		}
	}
	if top == 0 {
		top = 1
	}
	width := float64(hbarW) - hbarLabel - 90
	for i, r := range rows {
		y := 4 + float64(i)*hbarRow
		w := math.Min(r.Value/top, 1) * width
		c.Rects = append(c.Rects, newRect(hbarLabel, y+3, math.Max(w, 1), hbarRow-8, r.Class, r.Name+": "+r.Text))
		c.Labels = append(c.Labels,
			newLabel(hbarLabel-6, y+hbarRow/2+4, "end", r.Name),
			newLabel(hbarLabel+w+6, y+hbarRow/2+4, "start", r.Text))
	}
	return c
}

// refusalChart draws refusals by reason, most first.
func refusalChart(by map[string]int) chart {
	rows := make([]hbar, 0, len(by))
	for reason, n := range by {
		rows = append(rows, hbar{Name: reason, Value: float64(n), Text: fmt.Sprint(n), Class: "refused"})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Value != rows[j].Value {
			return rows[i].Value > rows[j].Value
		}
		return rows[i].Name < rows[j].Name
	})
	return hbarChart("refusals", "Refusals by reason, last day", rows, 0, "No call was refused in the last day.")
}

func barUp(x, bw, v, top float64, class, tip string) rect {
	h := v / top * plotH
	return newRect(x+1, padTop+plotH-h, math.Max(bw-2, 1), h, class, tip)
}

func yAxis(top float64, unit string) []label {
	return []label{
		newLabel(padLeft-4, padTop+10, "end", trimFloat(top)+unit),
		newLabel(padLeft-4, padTop+plotH, "end", "0"),
	}
}

func timeAxis(s *series) []label {
	var out []label
	bw := plotW / float64(len(s.buckets))
	for i := 0; i <= len(s.buckets); i += timeLabelEvery {
		t := s.start().Add(time.Duration(i) * s.step)
		anchor := "middle"
		if i == len(s.buckets) {
			anchor = "end"
		}
		out = append(out, newLabel(padLeft+float64(i)*bw, chartH-6, anchor, t.UTC().Format("15:04")))
	}
	return out
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten; at least 1.
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
