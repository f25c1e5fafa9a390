// Package abi defines version 1 of the interface between the pave host and
// the WebAssembly functions it runs: the names of the guest exports and host
// imports, and the binary encoding of the request the host hands to a guest
// and of the response the guest hands back.
//
// Both sides import this package, so it depends on the standard library only
// and builds for wasip1 as well as for the host. docs/ABI.md in the
// repository is the full reference; this package is its executable half.
//
// # Encoding
//
// A message is a format byte (1) followed by its fields in a fixed order. An
// integer is an unsigned LEB128 varint in its shortest form. A string or byte
// field is its length as a varint followed by that many bytes. A list is its
// item count as a varint followed by the items. There is no padding and
// nothing may follow the last field. A request is
//
//	format, Method, Path, Route, Params, RawQuery, Headers, Body, Caller, RequestID
//
// where Params and Headers are lists of (name, value) string pairs, and a
// response is
//
//	format, Status, Headers, Body
//
// Because every varint must be minimal and trailing bytes are rejected, a
// message that decodes re-encodes to exactly the same bytes.
//
// # Validation
//
// The decoders never panic and never trust a length: a count or length that
// the remaining input cannot hold is an error before anything is allocated,
// and the decoded value never aliases the input. They enforce the limits
// below, require the method and every header name to be an HTTP token, and
// reject header values containing CR, LF or NUL, so that a guest cannot
// smuggle extra header lines into the host's response. Errors are the
// package's exported sentinel values and never include the offending bytes.
package abi

// Version is the version of the ABI this package describes. It is the
// number in ImportModule.
const Version = 1

// ImportModule is the name of the host module that provides the version 1
// imports.
const ImportModule = "pave_v1"

// Names of the exports and imports of a reactor module.
const (
	// ExportHandle is the guest function the host calls once per
	// invocation: handle() -> i32.
	ExportHandle = "handle"
	// ExportInitialize is the WASI reactor initializer, which the host
	// calls once after instantiation and before ExportHandle.
	ExportInitialize = "_initialize"
	// ExportBeforeSnapshot is an optional export, before_snapshot(), that
	// the host calls once right after ExportInitialize when it takes the
	// snapshot every invocation starts from, and never per invocation.
	// The guest finishes there the work that would otherwise be left
	// half-done in the snapshot and repeated in every invocation: the Go
	// SDK completes a garbage collection.
	ExportBeforeSnapshot = "before_snapshot"
	// ExportStart is the entry point of a WASI command module, the
	// stdin/stdout compatibility path.
	ExportStart = "_start"

	// FuncRequestSize is request_size() -> i32.
	FuncRequestSize = "request_size"
	// FuncRequestRead is request_read(ptr, len i32) -> i32.
	FuncRequestRead = "request_read"
	// FuncResponseWrite is response_write(ptr, len i32) -> i32.
	FuncResponseWrite = "response_write"
	// FuncLog is log(level, ptr, len i32).
	FuncLog = "log"
)

// InitSection is the name of the custom section whose contents a reactor
// reads as its standard input while it initialises: data built into the
// module, such as the bundle of a JavaScript function, that its
// initialisation evaluates before the host takes the snapshot. Standard
// input is empty during invocations.
const InitSection = "pave.init"

// Log levels of the log import.
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)

// Capability import modules. Each is linked only when the function's
// manifest grants the capability; a module that imports one it was not
// granted is refused at deploy. Their functions are not part of version 1.
const (
	ImportModuleSecrets = "pave_secrets_v1"
	ImportModuleKV      = "pave_kv_v1"
	ImportModuleHTTP    = "pave_http_v1"
	ImportModuleInvoke  = "pave_invoke_v1"
	ImportModulePublish = "pave_publish_v1"
)

// Capability groups: the names under which a manifest grants a capability
// (capabilities: {kv: ...}). Each links one import module.
const (
	CapabilitySecrets = "secrets"
	CapabilityKV      = "kv"
	CapabilityHTTP    = "http"
	CapabilityInvoke  = "invoke"
	CapabilityPublish = "publish"
)

// CapabilityGroup pairs a capability group's name with the import module
// it links.
type CapabilityGroup struct {
	Name   string // as a manifest grants it, such as "kv"
	Module string // the import module, such as "pave_kv_v1"
}

// CapabilityGroups lists every capability group, in the order manifests
// list them. It is the one list: the manifest, the host, the posture
// report and the command line all read it.
var CapabilityGroups = []CapabilityGroup{
	{CapabilitySecrets, ImportModuleSecrets},
	{CapabilityKV, ImportModuleKV},
	{CapabilityHTTP, ImportModuleHTTP},
	{CapabilityInvoke, ImportModuleInvoke},
	{CapabilityPublish, ImportModulePublish},
}

// Limits enforced by the decoders and by Validate.
const (
	// MaxRequestSize is the largest encoded request, in bytes.
	MaxRequestSize = 64 << 20
	// MaxResponseSize is the largest encoded response, in bytes; the host
	// refuses a larger response_write.
	MaxResponseSize = 16 << 20
	// MaxHeaders is the largest number of header fields in a message.
	MaxHeaders = 256
	// MaxHeaderBytes bounds the sum of the lengths of all header names and
	// values in a message.
	MaxHeaderBytes = 1 << 20
	// MaxParams is the largest number of path parameters in a request.
	MaxParams = 64
	// MinStatus and MaxStatus bound a response's status code.
	MinStatus = 100
	MaxStatus = 599
)

// Header is one HTTP header field. A message's header fields are ordered;
// a name may repeat.
type Header struct {
	Name  string
	Value string
}

// Param is one path parameter of the matched route.
type Param struct {
	Name  string
	Value string
}

// Request is the invocation the host hands to a guest.
type Request struct {
	// Method is the HTTP method, an HTTP token such as "GET".
	Method string
	// Path is the URL path as received.
	Path string
	// Route is the pattern of the matched route, such as "/users/{id}".
	Route string
	// Params are the path parameters, in pattern order.
	Params []Param
	// RawQuery is the URL query without the leading '?'.
	RawQuery string
	// Headers are the request header fields in the order received, with
	// names as received.
	Headers []Header
	// Body is the whole request body.
	Body []byte
	// Caller identifies the authenticated caller, such as "key:ci-bot" or
	// "admin"; it is empty for an anonymous call of a public route.
	Caller    string
	RequestID string
}

// Response is the result a guest hands back to the host.
type Response struct {
	// Status is the HTTP status code, MinStatus to MaxStatus.
	Status  int
	Headers []Header
	Body    []byte
}
