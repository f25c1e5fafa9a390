//go:build pave_publish

package main

import (
	"github.com/dop251/goja"

	"github.com/pave-dev/pave/sdk/events"
)

// env.publish(topic, data) stores an event through sdk/events and resolves
// to its id. Built only for functions granted publish: the engine then
// imports pave_publish_v1.
var _ = func() bool {
	capabilities = append(capabilities, func(e *engine, env *goja.Object) {
		must(env.Set("publish", e.publish))
	})
	return true
}()

// publishErrors are sdk/events' errors and the codes a rejection carries
// for them.
var publishErrors = []errorKind{
	{events.ErrInvalid, "invalid"}, {events.ErrDenied, "denied"}, {events.ErrLimit, "limit"}, {events.ErrUnavailable, "unavailable"},
}

// publish is env.publish. data is a string, an ArrayBuffer or a typed
// array, sent as it is, or any other value, sent as its JSON. The host
// sets the event's attributes (docs/ABI.md): a third argument, such as
// {type, subject}, is refused rather than dropped.
func (e *engine) publish(call goja.FunctionCall) goja.Value {
	return e.settle(func() (goja.Value, error) {
		if len(call.Arguments) > 2 && !goja.IsUndefined(call.Argument(2)) {
			return nil, e.thrown(e.vm.NewTypeError("env.publish: an event's attributes are the host's (type is the topic, source the function); it takes no options"))
		}
		data, err := e.eventData(call.Argument(1))
		if err != nil {
			return nil, err
		}
		id, err := events.Publish(call.Argument(0).String(), data)
		if err != nil {
			return nil, e.capabilityError("Error", err, publishErrors)
		}
		return e.vm.ToValue(id), nil
	})
}

// eventData returns the bytes of env.publish's data, converted by the
// prelude's eventData.
func (e *engine) eventData(v goja.Value) ([]byte, error) {
	convert, ok := goja.AssertFunction(e.native.Get("eventData"))
	if !ok {
		panic("prelude: no eventData")
	}
	b, err := convert(goja.Undefined(), v)
	if err != nil {
		return nil, err
	}
	return bytesOf(b), nil
}
