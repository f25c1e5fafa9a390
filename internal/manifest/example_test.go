package manifest_test

import (
	"fmt"

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
