package manifest_test

import (
	"fmt"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
)

func ExampleParse() {
	const pave = `
name: hello
owner: team-web
routes:
  - method: get
    path: /hello/{name}
    public: true
  - method: POST
    path: /hello/{name}
limits:
  timeout: 2s
`
	m, err := manifest.Parse("pave.yaml", []byte(pave))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Name, "owned by", m.Owner)
	for _, r := range m.Routes {
		fmt.Printf("%s %s public=%v auth=%q pattern=%q\n", r.Method, r.Path, r.Public, r.Auth, r.Pattern())
	}
	fmt.Println(m.Limits.Timeout, m.Limits.Memory>>20, "MiB", m.Limits.Concurrency)
	// Output:
	// hello owned by team-web
	// GET /hello/{name} public=true auth="" pattern="GET /hello/{}"
	// POST /hello/{name} public=false auth="api-key" pattern="POST /hello/{}"
	// 2s 64 MiB 32
}

func ExampleParse_errors() {
	const pave = `
name: Hello
owner: team-web
rout:
  - method: GET
    path: /hello
limits:
  timeout: 1000s
  memory: 64MB
`
	_, err := manifest.Parse("pave.yaml", []byte(pave))
	fmt.Println(err)
	// Output:
	// pave.yaml:2:7: name: invalid name "Hello": use 1 to 63 lowercase letters, digits and '-', starting with a letter
	// pave.yaml:4:1: unknown field "rout"; did you mean "routes"?
	// pave.yaml:8:12: limits.timeout: 1000s is above the maximum of 900s
	// pave.yaml:9:11: limits.memory: invalid size "64MB": use a whole number of bytes, optionally followed by B, KiB, MiB or GiB, such as "64MiB"
}

func ExampleParse_triggers() {
	const pave = `
name: orders
owner: team-shop
triggers:
  - topic: orders.created
    schema: order.schema.json
  - schedule: "0 9 * * MON-FRI"
    timezone: Europe/Paris
    missed: run-once
  - schedule: "@hourly"
async:
  retries: 5
  backoff: 500ms
  callbacks: [hooks.example.com, "*.example.org:8443"]
  callback_secret: CALLBACK_KEY
`
	m, err := manifest.Parse("pave.yaml", []byte(pave))
	if err != nil {
		fmt.Println(err)
		return
	}
	friday := time.Date(2024, time.May, 3, 12, 0, 0, 0, time.UTC)
	for _, t := range m.Triggers {
		if t.Topic != "" {
			fmt.Printf("%s: events of %s, checked against %s\n", t.Key(), t.Topic, t.Schema.File)
			continue
		}
		s, err := manifest.ParseSchedule(t.Schedule, t.Timezone)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %q in %s, missed ticks: %s, next after Friday noon UTC: %s\n",
			t.Key(), t.Schedule, t.Timezone, t.Missed, s.Next(friday).Format(time.RFC3339))
	}
	a := m.Async
	fmt.Printf("%d retries from %v; callbacks to %v, signed with %s\n", a.Retries, a.Backoff, a.Callbacks, a.CallbackSecret)
	// Output:
	// topic:orders.created: events of orders.created, checked against order.schema.json
	// schedule:5945de30fcbe: "0 9 * * MON-FRI" in Europe/Paris, missed ticks: run-once, next after Friday noon UTC: 2024-05-06T07:00:00Z
	// schedule:762243b94b29: "@hourly" in UTC, missed ticks: skip, next after Friday noon UTC: 2024-05-03T13:00:00Z
	// 5 retries from 500ms; callbacks to [hooks.example.com *.example.org:8443], signed with CALLBACK_KEY
}
