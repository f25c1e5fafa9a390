// Package hostapi implements the host functions that guests import: the core
// pave_v1 group (request, response, log) and, one file each, the capability
// groups that a manifest must grant.
//
// Host functions are instantiated once per wazero runtime and shared by every
// guest instance; the state of one invocation travels in the context.Context
// of the call (see WithCall), so nothing a guest hands to the host can be seen
// by another invocation.
package hostapi

import (
	"context"
	"log/slog"
	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/pave-dev/pave/abi"
)

// Group is a set of host functions that guests import as one module.
type Group struct {
	// Module is the import module name guests use.
	Module string
	// Capability is the manifest grant that links the group; "" for the
	// core group that every function has.
	Capability string
}

// CoreModule is the import module every function may use.
const CoreModule = abi.ImportModule

// Groups lists every host function group pave knows, the core one first.
// Capability groups are refused at deploy unless the manifest grants them.
var Groups = groups()

// groups is the core group followed by abi.CapabilityGroups.
func groups() []Group {
	g := []Group{{Module: CoreModule}}
	for _, c := range abi.CapabilityGroups {
		g = append(g, Group{Module: c.Module, Capability: c.Name})
	}
	return g
}

// GroupOf returns the group guests import as module, if pave knows it.
func GroupOf(module string) (Group, bool) {
	i := slices.IndexFunc(Groups, func(g Group) bool { return g.Module == module })
	if i < 0 {
		return Group{}, false
	}
	return Groups[i], true
}

// Limits on what one invocation may send through the log call.
const (
	MaxLogLines    = 200
	MaxLogLineSize = 4096
)

// LogLine is one line a guest logged.
type LogLine struct {
	Level slog.Level
	Msg   string
}

// Call is the host-side state of one invocation.
type Call struct {
	// Request is the encoded abi.Request the guest reads.
	Request []byte
	// Response is the response the guest wrote, nil if none.
	Response *abi.Response
	// Logs are the guest's log lines, at most MaxLogLines.
	Logs []LogLine
	// DroppedLogs counts lines over MaxLogLines.
	DroppedLogs int
	// ResponseRejected is set when the guest wrote a malformed or oversized
	// response, or wrote twice.
	ResponseRejected bool

	// result is the pending result of the last capability call, which the
	// guest copies out with result_read.
	result    []byte
	hasResult bool
}

// AddLog records a guest log line, enforcing the limits.
func (c *Call) AddLog(level slog.Level, msg string) {
	if len(c.Logs) >= MaxLogLines {
		c.DroppedLogs++
		return
	}
	if len(msg) > MaxLogLineSize {
		msg = msg[:MaxLogLineSize] + "…[truncated]"
	}
	c.Logs = append(c.Logs, LogLine{Level: level, Msg: msg})
}

type callKey struct{}

// WithCall returns a context carrying c for the host functions.
func WithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// CallFrom returns the invocation state in ctx, or nil.
func CallFrom(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}

// Signature returns the definition of the host function module.name as r
// links it: the host modules InstantiateCore, InstantiateCapabilities and
// InstantiateWASI built are the one list of what pave provides, with the
// parameter and result types of each function.
func Signature(r wazero.Runtime, module, name string) (api.FunctionDefinition, bool) {
	m := r.Module(module)
	if m == nil {
		return nil, false
	}
	def, ok := m.ExportedFunctionDefinitions()[name]
	return def, ok
}
