package posture_test

import (
	"fmt"
	"os"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/posture"
)

func ExampleCheck() {
	m, err := manifest.Parse("functions/orders/pave.yaml", []byte(`
name: orders
owner: team-shop
routes:
  - method: POST
    path: /orders
    public: true
capabilities:
  kv: {orders: write}
  http: ["*.payments.example"]
limits:
  timeout: 120s
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	policy := posture.DefaultPolicy()
	policy.Now = func() time.Time { return now }

	report := posture.Check(posture.Input{Functions: []posture.Function{{
		Manifest:     m,
		ManifestPath: m.File,
		// Live: usage data from the daemon. The http grant was used
		// yesterday; the kv grant never was.
		Live:        true,
		Deployed:    now.AddDate(0, -2, 0),
		LastInvoked: now.Add(-time.Hour),
		GrantUses:   map[string]time.Time{"http": now.Add(-24 * time.Hour)},
	}}}, policy)

	if err := posture.WriteTable(os.Stdout, report); err != nil {
		fmt.Println(err)
	}
	failOn, _ := posture.ParseSeverity("medium")
	fmt.Println("at or above medium:", len(report.AtOrAbove(failOn)))
	// Output:
	// SEVERITY  RULE                       RISK   FUNCTION  FINDING
	// medium    PAVE-HTTP-WILDCARD         SAS-4  orders    capabilities.http grants *.payments.example: every host under payments.example (functions/orders/pave.yaml:10)
	//                                                       fix: Replace *.payments.example in capabilities.http with the exact hosts under payments.example the function calls.
	// medium    PAVE-LIMIT-ABOVE-POLICY    SAS-8  orders    timeout 2m0s is above the policy's 1m0s (functions/orders/pave.yaml:12)
	//                                                       fix: Set limits.timeout to 1m0s or less in the manifest.
	// medium    PAVE-PUBLIC-NO-CONTRACT    SAS-1  orders    public route POST /orders has no body or query schema (functions/orders/pave.yaml:5)
	//                                                       fix: Add schema: {body: ...} or schema: {query: ...} to the route so the gateway refuses input the function does not expect.
	// medium    PAVE-UNUSED-GRANT          SAS-4  orders    kv grant (orders: write) never used since the deploy on 2026-04-01, 61 days ago (policy: 30 days) (functions/orders/pave.yaml:9)
	//                                                       fix: Remove capabilities.kv from the manifest and redeploy, unless the function still needs it.
	// low       PAVE-PUBLIC-NO-RATE-LIMIT  SAS-8  orders    public route POST /orders, and the manifest sets no rate_limit or budget (functions/orders/pave.yaml:5)
	//                                                       fix: Set rate_limit.caller (and rate_limit.function or a budget) in the manifest to bound what anonymous callers can spend.
	// low       PAVE-PUBLIC-ROUTE          SAS-2  orders    route POST /orders is public: it is reached without authentication (functions/orders/pave.yaml:5)
	//                                                       fix: Remove public: true so the route requires an API key, or choose auth: jwt or auth: webhook, unless anonymous callers are intended.
	//
	// 6 findings in 1 function: 4 medium, 2 low.
	// at or above medium: 4
}
