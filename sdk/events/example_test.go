package events_test

import (
	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/events"
)

// A handler records an order, then announces it on a topic its manifest
// grants; subscribers learn of it without the handler knowing them.
func ExamplePublish() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		id, err := events.Publish("orders.created", r.Body)
		if err != nil {
			return nil, err
		}
		return pave.JSON(202, map[string]string{"event": id}), nil
	})
}
